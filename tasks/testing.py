"""The test suites: unit (fast, in-process) and integration (real doit processes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SOURCES = sorted(str(p) for p in Path("src").rglob("*.py"))
CONFIG = ["pyproject.toml", "uv.lock"]


def _suite(folder: str, doc: str) -> dict[str, Any]:
    tests = sorted(
        str(p) for p in Path("tests").rglob("*.py") if folder in p.parts or p.parent.name == "tests"
    )
    return {
        "doc": doc,
        "actions": [f"python -m pytest -q -p no:cacheprovider tests/{folder}"],
        "file_dep": SOURCES + tests + CONFIG,
        "timeout": 900,
    }


def task_test_unit() -> dict[str, Any]:
    """Unit tests of the engine and settings."""
    return {**_suite("engine", "Unit tests of the engine and settings."), "basename": "test-unit"}


def task_test_integration() -> dict[str, Any]:
    """Integration tests: real doit runs in temporary projects."""
    return {**_suite("cli", "Integration tests: real doit runs."), "basename": "test-integration"}


def task_test_all() -> dict[str, Any]:
    """Every test suite, in parallel."""
    return {"basename": "test-all", "actions": None, "task_dep": ["test-unit", "test-integration"]}
