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
import os
import re
import types
from collections.abc import Callable
from typing import Any

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_code_memo: dict[int, tuple[types.CodeType, str]] = {}
_calls_memo: dict[tuple[int, int], tuple[types.CodeType, str]] = {}
_project: list[str] = []
_OUTSIDE = ("site-packages", "dist-packages", f"{os.sep}.venv{os.sep}")


def set_project_root(root: str) -> None:
    """Functions defined in files under ``root`` count as the project's own code.

    A Python action's description then includes the project functions it calls by name
    (``helpers.render(...)``, ``render(...)``), recursively: editing a helper re-runs the
    tasks whose actions call it. Installed packages (site-packages, a ``.venv``) do not count.
    """
    _project[:] = [root.rstrip(os.sep) + os.sep]


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
    if _project:
        calls = _project_calls(func)
        if calls:
            parts.append("calls=" + calls)
    return " ".join(parts)


def _in_project(func: types.FunctionType) -> bool:
    filename = func.__code__.co_filename
    return filename.startswith(_project[0]) and not any(p in filename for p in _OUTSIDE)


def _project_calls(func: types.FunctionType, seen: set[int] | None = None) -> str:
    """Descriptions of the project functions a function refers to by global name."""
    memo_key = (id(func.__code__), id(func.__globals__))
    memo = _calls_memo.get(memo_key)
    if memo is not None and memo[0] is func.__code__ and seen is None:
        return memo[1]
    seen = set() if seen is None else seen
    seen.add(id(func))
    found = []
    for name in sorted(_global_names(func.__code__)):
        for target in _resolve(func.__globals__, name, func.__code__):
            if id(target) in seen or not _in_project(target):
                continue
            seen.add(id(target))
            inner = _project_calls(target, seen)
            text = f"{target.__module__}.{target.__qualname__}:{_code_text(target.__code__)}"
            found.append(text + (f"[{inner}]" if inner else ""))
    text = ";".join(found)
    _calls_memo[memo_key] = (func.__code__, text)
    return text


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _resolve(
    namespace: dict[str, Any], name: str, code: types.CodeType
) -> list[types.FunctionType]:
    """The functions a global name stands for: a function, or a project module's functions
    that the code names as attributes (``module.helper``)."""
    value = namespace.get(name)
    if isinstance(value, types.FunctionType):
        return [value]
    if isinstance(value, type) and value.__module__ == namespace.get("__name__"):
        return [v for v in vars(value).values() if isinstance(v, types.FunctionType)]
    if isinstance(value, types.ModuleType):
        attrs = _global_names(code)
        return [
            v
            for attr, v in sorted(vars(value).items())
            if attr in attrs and isinstance(v, types.FunctionType)
        ]
    return []


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
