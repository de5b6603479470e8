"""lint, typecheck and check: ruff and mypy over the package and its tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

SOURCES = sorted(str(p) for pattern in ("*.py", "*.pyi") for p in Path("src").rglob(pattern))
TESTS = sorted(str(p) for p in Path("tests").rglob("*.py"))
CONFIG = ["pyproject.toml"]


def task_lint() -> dict[str, Any]:
    """Lint and format-check with ruff."""
    files = SOURCES + TESTS + sorted(str(p) for p in Path("tasks").glob("*.py"))
    files += ["dodo.py", "hatch_build.py"]
    files += sorted(str(p) for p in Path("bench").glob("*.py"))
    return {
        "actions": [
            "ruff check src tests tasks dodo.py hatch_build.py bench",
            "ruff format --check src tests tasks dodo.py hatch_build.py bench",
        ],
        "file_dep": files + CONFIG,
    }


def task_typecheck() -> dict[str, Any]:
    """Type-check src/ with mypy (strict)."""
    return {"actions": ["mypy src"], "file_dep": SOURCES + CONFIG}


def task_check() -> Iterator[dict[str, Any]]:
    """All static checks: lint and typecheck."""
    yield {"basename": "check", "actions": None, "task_dep": ["lint", "typecheck"]}
