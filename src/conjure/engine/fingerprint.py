"""Canonical descriptions of task definitions: what makes a task stale besides its files.

A Python callable is described by its bytecode (recursively through nested functions),
constants, names, defaults and closure values, not by its source text or line numbers: a
comment or a moved function does not re-run a task, a changed expression does. Values are
described by ``repr`` with memory addresses removed, and the project root is replaced by
``<root>`` so two clones in different folders describe a task the same way.
"""

from __future__ import annotations

import functools
import json
import re
import types
from collections.abc import Callable
from typing import Any

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_code_memo: dict[int, tuple[types.CodeType, str]] = {}


def describe_value(value: Any) -> str:
    """A stable text for a value: its repr without memory addresses."""
    if callable(value) and not isinstance(value, type):
        return describe_callable(value)
    return _ADDRESS.sub("", repr(value))


def describe_callable(func: Callable[..., Any]) -> str:
    """A stable text for a callable that changes when its behaviour's code changes."""
    if isinstance(func, functools.partial):
        args = ", ".join(describe_value(a) for a in func.args)
        kwargs = ", ".join(f"{k}={describe_value(v)}" for k, v in sorted(func.keywords.items()))
        return f"partial({describe_callable(func.func)}; {args}; {kwargs})"
    if isinstance(func, types.MethodType):
        owner = type(func.__self__).__qualname__
        return f"method {owner}.{describe_callable(func.__func__)}"
    if isinstance(func, types.FunctionType):
        return _describe_function(func)
    call = vars(type(func)).get("__call__")
    if isinstance(call, types.FunctionType):
        state = describe_value(getattr(func, "__dict__", {}))
        return f"object {type(func).__qualname__} {state} {_describe_function(call)}"
    return _ADDRESS.sub("", repr(func))


def _describe_function(func: types.FunctionType) -> str:
    parts = [f"{func.__module__}.{func.__qualname__}", _code_text(func.__code__)]
    if func.__defaults__:
        parts.append("defaults=" + ",".join(describe_value(d) for d in func.__defaults__))
    if func.__kwdefaults__:
        parts.append("kwdefaults=" + describe_value(sorted(func.__kwdefaults__.items())))
    if func.__closure__:
        cells = []
        for name, cell in zip(func.__code__.co_freevars, func.__closure__, strict=True):
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                content = None
            if content is func:  # recursion through the closure
                cells.append(f"{name}=<self>")
            else:
                cells.append(f"{name}={describe_value(content)}")
        parts.append("closure=" + ";".join(cells))
    return " ".join(parts)


def _code_text(code: types.CodeType) -> str:
    memo = _code_memo.get(id(code))
    if memo is not None and memo[0] is code:
        return memo[1]
    consts = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            consts.append("{" + _code_text(const) + "}")
        else:
            consts.append(_ADDRESS.sub("", repr(const)))
    text = f"{code.co_code.hex()}|{','.join(consts)}|{','.join(code.co_names)}"
    _code_memo[id(code)] = (code, text)
    return text


def canonical_json(parts: dict[str, Any], root: str) -> str:
    """The definition parts as sorted JSON, with the project root replaced by ``<root>``."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=describe_value)
    if root:
        text = text.replace(root, "<root>")
    return text
