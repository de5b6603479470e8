"""Python coverage combined across suites and shards: real pytest under coverage.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conjure.testing import PytestTests
from tests.conftest import Project
from tests.orchestration.conftest import read_json, run_shards

CALC = """
def left(x):
    if x > 0:
        return x
    return -x


def right(x):
    return x * 2
"""

CALC_TESTS = """
import pytest
from calc import left, right

@pytest.mark.unit
def test_left():
    assert left(1) == 1

@pytest.mark.api
def test_right():
    assert right(1) == 2
"""

DODO = """
from conjure.testing import PytestTests, Suite, test_tasks

tests = test_tasks([
    Suite("unit", PytestTests("py", markers="unit", uv=False, coverage=True)),
    Suite("api", PytestTests("py", markers="api", uv=False, coverage=True)),
])
"""

# relative_files: the shards below run in different folders, as CI runners may
RC = "[run]\nsource = .\nomit = tests/*\nrelative_files = true\n[report]\nprecision = 2\n"


def _coverage_project(project: Project) -> Project:
    """Suites unit (covers left's positive branch) and api (covers right), under coverage:
    4 and 3 of calc.py's 6 statements, 5 of 6 together."""
    project.write("py/pytest.ini", "[pytest]\npythonpath = .\nmarkers =\n    unit: u\n    api: a\n")
    project.write("py/.coveragerc", RC)
    project.write("py/calc.py", CALC)
    project.write("py/tests/test_calc.py", CALC_TESTS)
    project.dodo(DODO)
    return project


def _missed_lines(xml: Path) -> list[int]:
    [calc] = [c for c in ET.parse(xml).getroot().iter("class") if c.get("filename") == "calc.py"]
    return [int(line.get("number", 0)) for line in calc.iter("line") if line.get("hits") == "0"]


def test_python_coverage_is_combined_across_the_suites_of_a_run(project: Project) -> None:
    _coverage_project(project)
    r = project.doit("test-all")
    assert r.returncode == 0, r.stdout + r.stderr
    cover = project.root / "cache/testing/coverage"
    assert len(list((cover / "python").glob(".coverage.unit.*"))) == 1  # one file per process
    assert len(list((cover / "python").glob(".coverage.api.*"))) == 1
    summary = read_json(project.root / "cache/testing/summary.json")
    assert summary["coverage"]["python_percent"] == 83.33
    assert _missed_lines(cover / "python.xml") == [5]  # only `return -x`
    assert (cover / "python-html/index.html").is_file()
    assert f"Python coverage: 83.33% ({cover.relative_to(project.root)}/python.xml;" in r.stdout
    # a run of one suite reports that suite's coverage
    r = project.doit("test-all", "--suite", "api")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        read_json(project.root / "cache/testing/summary.json")["coverage"]["python_percent"] == 50
    )


def test_python_coverage_of_shards_is_combined_by_ci_merge(
    project: Project, tmp_path: Path
) -> None:
    _coverage_project(project)
    copies = run_shards(project, tmp_path, 2)
    percents = [read_json(c.root / "cache/testing/summary.json")["coverage"] for c in copies]
    assert sorted(p["python_percent"] for p in percents) == [50.0, 66.67]  # one test each
    r = project.doit("ci-merge", *(str(c.root / "cache/testing") for c in copies))
    assert r.returncode == 0, r.stdout + r.stderr
    summary = read_json(project.root / "cache/testing/summary.json")
    assert summary["coverage"]["python_percent"] == 83.33
    assert _missed_lines(project.root / "cache/testing/coverage/python.xml") == [5]
    assert "Python coverage: 83.33%" in r.stdout


def test_pytest_runs_under_this_interpreters_coverage_without_uv() -> None:
    command = PytestTests("py", uv=False, coverage=True).command()
    assert command[1:] == ["-m", "coverage", "run", "-p", "-m", "pytest"]
