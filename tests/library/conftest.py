"""Fixtures for the task-library tests: copies of the example workspace on the real toolchains.

Every test gets its own copy of ``examples/polyglot`` (no cache, binaries or venv), so runs
never share state; Go's build cache (``GOCACHE``) and uv's cache stay the user's, shared and
warm, which keeps the suite fast.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.conftest import Project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"
_LEFT_OUT = shutil.ignore_patterns("cache", "bin", ".venv", "__pycache__", "dodo.py")

requires_go = pytest.mark.skipif(shutil.which("go") is None, reason="needs the Go toolchain")
requires_uv = pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv")


@pytest.fixture
def workspace(tmp_path: Path) -> Project:
    """A copy of the example workspace without its dodo.py (each test writes its own)."""
    root = tmp_path / "polyglot"
    shutil.copytree(EXAMPLE, root, ignore=_LEFT_OUT)
    return Project(root)


def last_run(project: Project) -> tuple[set[str], set[str]]:
    """The tasks that ran (with actions or not) and those up to date in the latest run."""
    records = [json.loads(p.read_text()) for p in (project.root / "cache" / "runs").glob("*.json")]
    data = max(records, key=lambda record: record["started"])
    ran = {t["name"] for t in data["tasks"] if t["status"] == "ran"}
    return ran, set(data.get("up_to_date", []))


def logging_go(folder: Path, log: Path) -> str:
    """A ``go`` that logs its first argument and runs the real one; returns a PATH using it."""
    real = shutil.which("go")
    assert real
    script = folder / "go"
    script.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"
