"""The test suites. Each suite is a folder under ``tests/``; ``test-all`` runs every suite.

| suite | folder | what it covers |
|---|---|---|
| unit | tests/engine | the engine in-process |
| integration | tests/cli | real ``doit`` runs in temporary projects |
| cache | tests/cache | the output cache, CI restore and the remote cache |
| library | tests/library | the Go + Python task factories on real toolchains |
| orchestration | tests/orchestration | suites, sharding, retries, reports |
| docker | tests/docker | dev images and compose on a real engine |

A suite whose folder does not exist yet is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

SOURCES = sorted(str(p) for p in Path("src").rglob("*.py"))
CONFIG = ["pyproject.toml", "uv.lock"]

SUITES = {
    "unit": ("engine", "Unit tests of the engine and settings."),
    "integration": ("cli", "Integration tests: real doit runs in temporary projects."),
    "cache": ("cache", "Output cache, CI restore and the remote cache."),
    "library": ("library", "Go + Python task factories on the real toolchains."),
    "orchestration": ("orchestration", "Test suites, sharding, retries and reports."),
    "docker": ("docker", "Dev images and compose on a real Docker engine."),
}


def _present() -> dict[str, tuple[str, str]]:
    return {name: s for name, s in SUITES.items() if (Path("tests") / s[0]).is_dir()}


def _suite(name: str, folder: str, doc: str) -> dict[str, Any]:
    tests = sorted(
        str(p)
        for p in Path("tests").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and (folder in p.parts or p.parent.name == "tests")
    )
    return {
        "basename": f"test-{name}",
        "doc": doc,
        "actions": [f"python -m pytest -q -p no:cacheprovider tests/{folder}"],
        "file_dep": SOURCES + tests + CONFIG,
        "timeout": 1800,
    }


def task_test_suites() -> Iterator[dict[str, Any]]:
    """One task per test suite: test-unit, test-integration, ..."""
    for name, (folder, doc) in _present().items():
        yield _suite(name, folder, doc)


def task_test_all() -> dict[str, Any]:
    """Every test suite, in parallel."""
    return {
        "basename": "test-all",
        "actions": None,
        "task_dep": [f"test-{name}" for name in _present()],
    }
