"""Test orchestration for dodo.py authors: suites, ``doit test-all``, sharding, reports.

    from conjure.testing import GoTests, PytestTests, Suite, test_tasks

    tests = test_tasks([
        Suite("unit", PytestTests("addon", markers="unit"), GoTests(".", short=True)),
        Suite("integration", GoTests(".", tags=("integration",)), timeout=600, slow=True),
    ])

Importing this package is cheap: parsers, reports and the HTML page load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conjure.testing._suite import GoTests, PytestTests, Suite
from conjure.testing._tasks import TestTasks, test_tasks

if TYPE_CHECKING:
    from conjure.testing._coverage import CoverageSpec, merge_go_profiles
    from conjure.testing._durations import merge_durations, read_durations, record_durations
    from conjure.testing._gotest import parse_go_json
    from conjure.testing._html import render_report, write_report
    from conjure.testing._junit import merged_junit, parse_pytest_junit
    from conjure.testing._model import SuiteResult, TestCase
    from conjure.testing._shard import ShardSpec, assign, parse_shard
    from conjure.testing._summary import summarize, summary_table

__all__ = [
    "CoverageSpec",
    "GoTests",
    "PytestTests",
    "ShardSpec",
    "Suite",
    "SuiteResult",
    "TestCase",
    "TestTasks",
    "assign",
    "merge_durations",
    "merge_go_profiles",
    "merged_junit",
    "parse_go_json",
    "parse_pytest_junit",
    "parse_shard",
    "read_durations",
    "record_durations",
    "render_report",
    "summarize",
    "summary_table",
    "test_tasks",
    "write_report",
]

_LAZY = {
    "merge_go_profiles": "_coverage",
    "merge_durations": "_durations",
    "read_durations": "_durations",
    "record_durations": "_durations",
    "parse_go_json": "_gotest",
    "render_report": "_html",
    "write_report": "_html",
    "merged_junit": "_junit",
    "parse_pytest_junit": "_junit",
    "SuiteResult": "_model",
    "TestCase": "_model",
    "ShardSpec": "_shard",
    "assign": "_shard",
    "parse_shard": "_shard",
    "CoverageSpec": "_coverage",
    "summarize": "_summary",
    "summary_table": "_summary",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'conjure.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"conjure.testing.{module}"), name)
    globals()[name] = value
    return value
