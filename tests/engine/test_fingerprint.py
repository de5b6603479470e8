"""Definitions: code changes count, comments, line numbers and addresses do not."""

from __future__ import annotations

import functools

from conjure.engine.fingerprint import canonical_json, describe_callable, describe_value


def _make(n: int):  # type: ignore[no-untyped-def]
    def act() -> int:
        return n

    return act


def test_closure_values_are_part_of_the_description() -> None:
    assert describe_callable(_make(1)) != describe_callable(_make(2))
    assert describe_callable(_make(1)) == describe_callable(_make(1))


def test_different_code_differs() -> None:
    def a() -> int:
        return 1

    def b() -> int:
        return 2

    assert describe_callable(a).split(" ", 1)[1] != describe_callable(b).split(" ", 1)[1]


def test_partial_and_addresses() -> None:
    obj = object()
    text = describe_value(obj)
    assert "0x" not in text
    assert "3" in describe_callable(functools.partial(_make, 3))


def test_root_is_replaced() -> None:
    assert canonical_json({"cmd": "/work/x/bin/app"}, "/work/x") == '{"cmd":"<root>/bin/app"}'
