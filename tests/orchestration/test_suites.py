"""Suites as tasks, on real doit runs: test-all, selection, caching, setup/teardown, timeouts."""

from __future__ import annotations

import re
import signal
import time
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import Project
from tests.orchestration.conftest import DODO, log_of, make_project, needs_go, read_json

pytestmark = needs_go


def test_test_all_runs_every_suite_and_writes_merged_reports(tests_project: Project) -> None:
    r = tests_project.doit("test-all")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "suite unit: 8 passed, 2 skipped" in r.stdout
    assert "suite api: 1 passed" in r.stdout
    summary = read_json(tests_project.root / "cache/testing/summary.json")
    assert summary["totals"] == {"passed": 9, "failed": 0, "skipped": 2, "flaky": 0}
    assert [row["suite"] for row in summary["suites"]] == ["unit", "api"]
    root = ET.parse(tests_project.root / "cache/testing/junit.xml").getroot()
    assert root.tag == "testsuites" and root.get("tests") == "11"
    names = {c.get("name") for c in root.iter("testcase")}
    assert {"tests/test_things.py::test_param[2]", "TestSub", "TestSkipped"} <= names
    assert re.search(r"^unit\s+8\s+0\s+2\s+0\s+[\d.]+s$", r.stdout, re.M), r.stdout
    assert re.search(r"^total\s+9\s+0\s+2\s+0$", r.stdout, re.M)


def test_unchanged_suites_are_not_run_again(tests_project: Project) -> None:
    assert tests_project.doit("test-all").returncode == 0
    first = len(log_of(tests_project))
    r = tests_project.doit("test-all")
    assert r.returncode == 0, r.stdout
    assert len(log_of(tests_project)) == first
    assert "ok      test-unit" not in r.stdout
    assert re.search(r"^total\s+9\s+0\s+2\s+0$", r.stdout, re.M)  # still summarized
    tests_project.write(
        "py/tests/test_things.py",
        (tests_project.root / "py/tests/test_things.py").read_text() + "\n# edit\n",
    )
    assert tests_project.doit("test-all").returncode == 0
    assert len(log_of(tests_project)) == 2 * first


def test_suite_option_narrows_and_unknown_suite_is_usage_error(tests_project: Project) -> None:
    r = tests_project.doit("test-all", "--suite", "api")
    assert r.returncode == 0, r.stdout
    assert log_of(tests_project) == ["test_api"]
    r = tests_project.doit("test-all", "--suite", "unit,nope")
    assert r.returncode == 2
    assert r.stderr.strip() == "conjure: error: unknown suite 'nope'; suites: unit, api"


def test_k_expression_is_passed_to_pytest(tests_project: Project) -> None:
    r = tests_project.doit("test-all", "--suite", "unit", "-k", "param")
    assert r.returncode == 0, r.stdout
    assert sorted(log_of(tests_project)) == ["test_param[1]", "test_param[2]", "test_param[3]"]


def test_one_suite_task_runs_alone_with_its_options(tests_project: Project) -> None:
    r = tests_project.doit("test-api")
    assert r.returncode == 0, r.stdout
    assert log_of(tests_project) == ["test_api"]


def test_skip_slow_leaves_out_slow_suites(project: Project) -> None:
    make_project(
        project,
        extra='Suite("slowone", PytestTests("py", markers="api", uv=False, env={"TEST_LOG": "slow.txt"}), slow=True),',
    )
    r = project.doit("test-all", "--skip-slow", "--suite", "api,slowone")
    assert r.returncode == 0, r.stdout
    assert not (project.root / "py/slow.txt").exists()
    assert project.doit("test-all", "--suite", "slowone").returncode == 0
    assert (project.root / "py/slow.txt").exists()


FAILING = """
import pytest

@pytest.mark.unit
def test_bad():
    assert 1 == 2, "one is not two"

@pytest.mark.api
def test_fine():
    pass
"""


def test_failing_suite_fails_the_run_and_still_summarizes(project: Project) -> None:
    make_project(project, py_tests=FAILING)
    r = project.doit("--continue", "test-all")
    assert r.returncode == 1
    assert (
        "FAILED unit: py/tests/test_things.py::test_bad  AssertionError: one is not two" in r.stdout
    )
    summary = read_json(project.root / "cache/testing/summary.json")
    assert summary["totals"]["failed"] == 1 and not summary["ok"]
    failure = summary["failures"][0]
    assert "one is not two" in failure["output"]
    # a failed suite is not cached: it runs again
    again = project.doit("test-all", "--suite", "unit")
    assert again.returncode == 1 and "suite unit:" in again.stdout


SERVICE = 'Suite("svc", PytestTests("py", markers="{markers}", uv=False), setup=["echo up >> services.txt"], teardown=["{teardown}"]),'


def test_setup_and_teardown_run_around_a_failing_suite(project: Project) -> None:
    make_project(
        project,
        py_tests=FAILING,
        extra=SERVICE.format(markers="unit", teardown="echo down >> services.txt"),
    )
    r = project.doit("test-all", "--suite", "svc")
    assert r.returncode == 1
    assert project.log_lines("services.txt") == ["up", "down"]
    assert "task test-svc-run failed in this run" in r.stdout  # test-all summarized it
    # the suite alone sets up and tears down too
    r = project.doit("test-svc")
    assert r.returncode == 1
    assert project.log_lines("services.txt") == ["up", "down", "up", "down"]


SLOW_AND_FAILING = (
    FAILING
    + """
@pytest.mark.api
def test_waits():
    import time
    time.sleep(20)
"""
)


def test_fail_fast_still_tears_down_and_summarizes(project: Project) -> None:
    """A suite fails while another runs: that one is stopped, its teardown runs anyway, and
    test-all prints the summary of the stopped run."""
    make_project(
        project,
        py_tests=SLOW_AND_FAILING,
        extra=SERVICE.format(markers="api", teardown="echo down >> services.txt"),
    )
    started = time.monotonic()
    r = project.doit("-n", "4", "test-all", "--suite", "unit,svc")
    assert time.monotonic() - started < 18
    assert r.returncode == 1, r.stdout + r.stderr
    assert project.log_lines("services.txt") == ["up", "down"]
    assert "task test-svc-run cancelled in this run" in r.stdout
    assert "FAILED unit: py/tests/test_things.py::test_bad" in r.stdout


def test_ctrl_c_stops_the_tests_and_still_tears_down(project: Project) -> None:
    make_project(
        project,
        py_tests=SLOW_AND_FAILING,
        extra=SERVICE.format(markers="api", teardown="echo down >> services.txt"),
    )
    proc = project.start("test-svc")
    deadline = time.monotonic() + 30
    while project.log_lines("services.txt") != ["up"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # pytest is in test_waits now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, out + err
    assert project.log_lines("services.txt") == ["up", "down"]


def test_a_failing_teardown_fails_the_run(project: Project) -> None:
    make_project(project, py_tests=FAILING, extra=SERVICE.format(markers="api", teardown="exit 7"))
    r = project.doit("test-all", "--suite", "svc")
    assert r.returncode == 7, r.stdout
    assert "task test-svc-teardown failed in this run" in r.stdout


CONFIG_LAST = """
from suites import tests  # test_tasks() runs before DOIT_CONFIG exists
import conjure

DOIT_CONFIG = conjure.config(cache_dir="build/cache")
"""


def test_cache_dir_given_to_conjure_config_reaches_the_test_tasks(project: Project) -> None:
    make_project(project)
    project.write("suites.py", DODO.format(extra=""))
    project.write("dodo.py", CONFIG_LAST)
    r = project.doit("test-all", "--suite", "api")
    assert r.returncode == 0, r.stdout + r.stderr
    assert read_json(project.root / "build/cache/testing/results/api.json")["suite"] == "api"
    assert "JUnit XML: build/cache/testing/junit.xml" in r.stdout
    assert not (project.root / "cache").exists()
    r = project.doit("test-all", "--suite", "api", CONJURE_CACHE_DIR="env-cache")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (project.root / "env-cache/testing/results/api.json").is_file()


HANGING = """
import time
import pytest

@pytest.mark.unit
def test_hangs():
    print("waiting for a server that never answers", flush=True)
    time.sleep(600)
"""


def test_a_hanging_suite_is_killed_at_its_timeout_and_reported(project: Project) -> None:
    make_project(
        project,
        py_tests=HANGING,
        extra='Suite("hang", PytestTests("py", markers="unit", uv=False, args=("-s",)), timeout=3),',
    )
    started = time.monotonic()
    r = project.doit("test-all", "--suite", "hang", timeout=60)
    assert time.monotonic() - started < 30
    assert r.returncode == 1
    results = read_json(project.root / "cache/testing/results/hang.json")
    [case] = results["cases"]
    assert case["outcome"] == "failed" and case["message"].startswith("timed out after 3")
    assert "waiting for a server that never answers" in case["output"]


def test_empty_selection_succeeds_with_a_note(project: Project) -> None:
    make_project(
        project, extra='Suite("none", PytestTests("py", markers="not unit and not api", uv=False)),'
    )
    r = project.doit("test-all", "--suite", "none")
    assert r.returncode == 0, r.stdout
    assert "note: pytest collected no tests (exit code 5 is not a failure here)" in r.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--shard", "3/2"], "invalid shard '3/2': K must be between 1 and N (N >= 1), e.g. 1/4"),
        (["--shard", "0/4"], "invalid shard '0/4': K must be between 1 and N (N >= 1), e.g. 1/4"),
        (["--shard", "a/b"], "invalid shard 'a/b': expected K/N with whole numbers, e.g. 1/4"),
        (
            ["--filters-file", "missing.txt"],
            "cannot read filters file missing.txt: No such file or directory",
        ),
        (["--reruns", "two"], "invalid --reruns 'two': expected a whole number"),
        (["--chunks", "two"], "invalid --chunks 'two': expected a whole number"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tests_project: Project, args: list[str], line: str
) -> None:
    r = tests_project.doit("test-all", *args)
    assert r.returncode == 2, r.stdout
    assert r.stderr.strip() == f"conjure: error: {line}"
    assert log_of(tests_project) == []


def test_example_addon_runs_through_uv_with_markers(project: Project) -> None:
    import shutil
    from pathlib import Path

    addon = Path(__file__).resolve().parents[2] / "examples" / "polyglot" / "addon"
    shutil.copytree(
        addon, project.root / "addon", ignore=shutil.ignore_patterns(".venv", "__pycache__")
    )
    project.dodo(
        """
        from conjure.testing import PytestTests, Suite, test_tasks
        tests = test_tasks([Suite("unit", PytestTests("addon", markers="unit"))])
        """
    )
    r = project.doit("test-all", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = read_json(project.root / "cache/testing/summary.json")
    assert summary["totals"]["passed"] >= 10 and summary["totals"]["failed"] == 0
    assert all(
        c["group"] == "addon"
        for c in read_json(project.root / "cache/testing/results/unit.json")["cases"]
    )
