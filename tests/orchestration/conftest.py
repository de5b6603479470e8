"""Temporary projects with real pytest tests and a real Go module, run by the real doit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Project

PY_TESTS = """
import os, time
from pathlib import Path
import pytest

def _log(name):
    with open(os.environ["TEST_LOG"], "a") as f:
        f.write(name + "\\n")

@pytest.mark.unit
def test_fast():
    _log("test_fast")

@pytest.mark.unit
def test_slow():
    _log("test_slow")
    time.sleep(0.3)

@pytest.mark.unit
@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    _log(f"test_param[{n}]")

@pytest.mark.api
def test_api():
    _log("test_api")

@pytest.mark.unit
def test_skipped():
    pytest.skip("not today")
"""

GO_TESTS = """package g

import (
\t"testing"
\t"time"
)

func TestFast(t *testing.T) {}

func TestSlow(t *testing.T) { time.Sleep(200 * time.Millisecond) }

func TestSub(t *testing.T) {
\tt.Run("a", func(t *testing.T) {})
\tt.Run("b", func(t *testing.T) {})
}

func TestSkipped(t *testing.T) { t.Skip("later") }
"""

DODO = """
from conjure.testing import GoTests, PytestTests, Suite, test_tasks
tests = test_tasks([
    Suite("unit", PytestTests("py", markers="unit", uv=False, env={{"TEST_LOG": "log.txt"}}), GoTests("gomod")),
    Suite("api", PytestTests("py", markers="api", uv=False, env={{"TEST_LOG": "log.txt"}})),
    {extra}
])
"""


def make_project(project: Project, extra: str = "", py_tests: str = PY_TESTS) -> Project:
    """A project with a pytest folder ``py`` and a Go module ``gomod``, suites unit and api."""
    project.write("py/pytest.ini", "[pytest]\nmarkers =\n    unit: u\n    api: a\n")
    project.write("py/tests/test_things.py", py_tests)
    project.write("gomod/go.mod", "module example.com/g\n\ngo 1.22\n")
    project.write("gomod/g_test.go", GO_TESTS)
    project.dodo(DODO.format(extra=extra))
    return project


def run_shards(project: Project, folder: Path, total: int) -> list[Project]:
    """Copies of the project in ``folder``, one per shard, each after ``doit test-all --shard
    K/N`` (as CI jobs, here also in different folders) with exit code 0."""
    copies = [
        Project(Path(shutil.copytree(project.root, folder / f"s{k}"))) for k in range(1, total + 1)
    ]
    for k, shard in enumerate(copies, 1):
        r = shard.doit("test-all", "--shard", f"{k}/{total}")
        assert r.returncode == 0, r.stdout + r.stderr
    return copies


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def log_of(project: Project) -> list[str]:
    """Which Python tests ran (each writes its name to py/log.txt)."""
    return project.log_lines("py/log.txt")


@pytest.fixture
def tests_project(project: Project) -> Project:
    return make_project(project)


needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
