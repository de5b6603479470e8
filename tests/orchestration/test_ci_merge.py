"""``doit ci-merge``: the CI templates' flow run locally (issue 7), and bad shard folders.

The flow: one unsharded run gives the reference results and the cache archive; three shards,
each in its own ``git clone`` that shares nothing but that archive, run ``doit test-all
--shard K/3`` (at the same time, as a CI matrix does); another clone imports the caches and
merges the shards' copies of ``cache/testing/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conjure.testing._durations import RECENT_WEIGHT, fold_shard_durations
from conjure.testing._model import SuiteResult, TestCase
from tests.conftest import Project
from tests.orchestration.conftest import needs_go, read_json, run_shards

PY_TESTS = """
import time
import pytest

@pytest.mark.unit
@pytest.mark.parametrize("n", range(6))
def test_quick(n):
    assert n >= 0

@pytest.mark.unit
def test_skipped():
    pytest.skip("not here")

@pytest.mark.unit
def test_broken():
    assert 1 == 2, "one is not two"

@pytest.mark.slow
@pytest.mark.parametrize("seconds", [0.1, 0.2, 0.3, 0.4])
def test_sleepy(seconds):
    time.sleep(seconds)
"""

DODO = """
from conjure.testing import PytestTests, Suite, test_tasks

tests = test_tasks([
    Suite("unit", PytestTests("py", markers="unit", uv=False)),
    Suite("slow", PytestTests("py", markers="slow", uv=False)),
])
"""

TOTAL = 3
ALL_TESTS = 12


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A git repository with a pytest suite of 12 tests in two suites, cache/ ignored."""
    repo = Project(tmp_path / "origin")
    repo.write("py/pytest.ini", "[pytest]\nmarkers =\n    unit: u\n    slow: s\n")
    repo.write("py/tests/test_things.py", PY_TESTS)
    repo.write(".gitignore", "cache/\n")
    repo.dodo(DODO, config='**{"continue": True}')
    _git(repo.root, "init", "-q")
    _git(repo.root, "add", ".")
    _git(repo.root, "commit", "-q", "-m", "tests")
    return repo.root


def _clone(origin: Path, name: str) -> Project:
    _git(origin.parent, "clone", "-q", str(origin), name)
    return Project(origin.parent / name)


def _ok(r: subprocess.CompletedProcess[str], *codes: int) -> None:
    assert r.returncode in (codes or (0,)), r.stdout + r.stderr


def _results(testing: Path) -> dict[tuple[str, str], str]:
    """(suite, test) -> outcome of a folder's results/*.json."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted((testing / "results").glob("*.json")):
        data = read_json(path)
        for case in data["cases"]:
            assert (data["suite"], case["name"]) not in found
            found[(data["suite"], case["name"])] = case["outcome"]
    return found


def _junit_cases(path: Path) -> list[tuple[str, str, str]]:
    """(suite, test, outcome) of every case of a merged JUnit file."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    cases = []
    for suite in root.findall("testsuite"):
        for case in suite.findall("testcase"):
            outcome = "passed"
            if case.find("failure") is not None:
                outcome = "failed"
            elif case.find("skipped") is not None:
                outcome = "skipped"
            cases.append((suite.get("name", ""), case.get("name", ""), outcome))
    return cases


def test_shards_in_separate_clones_merge_to_the_unsharded_result(origin: Path) -> None:
    work = origin.parent
    first = _clone(origin, "first")
    _ok(first.doit("test-all"), 1)  # test_broken fails; --continue runs both suites
    reference = _results(first.root / "cache/testing")
    assert len(reference) == ALL_TESTS
    assert sorted(set(reference.values())) == ["failed", "passed", "skipped"]
    recorded = read_json(first.root / "cache/testing/durations.json")["tests"]
    archive = work / "conjure-cache.tar.zst"
    _ok(first.doit("cache", "export", str(archive)))

    shards = [_clone(origin, f"shard-{k}") for k in range(1, TOTAL + 1)]
    for shard in shards:  # as CI restores the cache
        _ok(shard.doit("cache", "import", str(archive)))
    running = [s.start("test-all", "--shard", f"{k}/{TOTAL}") for k, s in enumerate(shards, 1)]
    outputs = [p.communicate(timeout=120) for p in running]
    artifacts = work / "artifacts"
    ran: dict[tuple[str, str], str] = {}
    for k, (shard, process, (out, err)) in enumerate(zip(shards, running, outputs, strict=True), 1):
        assert process.returncode in (0, 1), out + err
        assert "<- this shard" in out
        testing = artifacts / f"shard-{k}" / "testing"
        shutil.copytree(shard.root / "cache/testing", testing)
        _ok(shard.doit("cache", "export", str(artifacts / f"shard-{k}" / "shard.tar.zst")))
        mine = _results(testing)
        assert mine and not set(mine) & set(ran)  # every test in one shard only
        ran.update(mine)
    assert ran == reference
    plans = [read_json(artifacts / f"shard-{k}/testing/plan.json") for k in (1, 2, 3)]
    assert plans[0]["shards"] == plans[1]["shards"] == plans[2]["shards"]  # they agreed

    merge = _clone(origin, "merge")
    _ok(merge.doit("cache", "import", str(archive)))
    for k in (1, 2, 3):
        _ok(merge.doit("cache", "import", str(artifacts / f"shard-{k}/shard.tar.zst")))
    folders = [str(artifacts / f"shard-{k}/testing") for k in (3, 1, 2)]
    r = merge.doit("ci-merge", *folders)
    _ok(r)
    assert "merged 3 shard(s) of 3: 1/3, 2/3, 3/3" in r.stdout
    testing = merge.root / "cache/testing"

    cases = _junit_cases(testing / "junit.xml")
    assert len(cases) == ALL_TESTS
    assert {(suite, name): outcome for suite, name, outcome in cases} == reference

    summary = read_json(testing / "summary.json")
    assert summary["totals"] == {"passed": 10, "failed": 1, "skipped": 1, "flaky": 0}
    assert summary["ok"] is False and summary["missing_shards"] == []
    assert [f["id"] for f in summary["failures"]] == ["py/tests/test_things.py::test_broken"]
    assert not [n for n in summary["notes"] if "kept once" in n]

    durations = read_json(testing / "durations.json")["tests"]
    keys = {f"pytest:py:{name}" for _, name in reference}
    assert keys <= set(durations)
    for k in (1, 2, 3):  # each measure smoothed into the record the pipeline started from
        for suite in ("unit", "slow"):
            data = read_json(artifacts / f"shard-{k}/testing/results/{suite}.json")
            for case in data["cases"]:
                key = f"pytest:py:{case['name']}"
                expected = RECENT_WEIGHT * case["duration"] + (1 - RECENT_WEIGHT) * recorded[key]
                assert durations[key] == pytest.approx(expected)
    assert durations["pytest:py:tests/test_things.py::test_sleepy[0.4]"] >= 0.4
    again = merge.doit("ci-merge", *folders)  # a re-run merge job folds nothing twice
    _ok(again)
    assert "durations: these shards are already in cache/testing/durations.json" in again.stdout
    assert read_json(testing / "durations.json")["tests"] == durations

    page = (merge.root / "cache/report.html").read_text()
    assert "Merged from shards 1/3, 2/3, 3/3" in page
    assert "py/tests/test_things.py::test_broken" in page and "one is not two" in page
    assert page.count('"name": "test-slow"') == TOTAL  # one timeline bar per shard


def _shard_folder(root: Path, spec: str, cases: list[TestCase], suite: str = "unit") -> Path:
    """A hand-made copy of a shard's cache/testing/ (for the bad-input cases)."""
    result = SuiteResult(suite, 100.0, 101.0, cases=cases, shard=spec)
    folder = root / f"shard-{spec.replace('/', '-')}"
    (folder / "results").mkdir(parents=True)
    (folder / "results" / f"{suite}.json").write_text(json.dumps(result.as_dict()))
    summary = {"suites": [{"suite": suite, "fresh": True}], "missing": []}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def _case(name: str, outcome: str = "passed", seconds: float = 0.5) -> TestCase:
    return TestCase("pytest", "py", f"tests/test_x.py::{name}", outcome, seconds)


@pytest.fixture
def merger(project: Project) -> Project:
    project.dodo(DODO)
    return project


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: [str(root / "nope")], "nope is not a folder: give each shard's copy"),
        (lambda root: [], "no shard folder given"),
        (lambda root: [str(root / "empty")], "empty holds no test results"),
        (lambda root: [str(_broken(root, "results/unit.json"))], "corrupt"),
        (lambda root: [str(_broken(root, "durations.json"))], "corrupt durations record"),
        (lambda root: [str(_broken(root, "coverage/go/unit-1.out"))], "corrupt Go cover profile"),
        (lambda root: [str(_broken(root, "summary.json"))], "corrupt"),
        (lambda root: [str(_shard_folder(root, "1/2", [])), str(_copy(root))], "given twice"),
        (
            lambda root: [str(_shard_folder(root, "1/2", [])), str(_shard_folder(root, "2/3", []))],
            "shards of different splits",
        ),
    ],
)
def test_bad_shard_folders_are_one_line_and_exit_2(
    merger: Project, make: object, message: str
) -> None:
    (merger.root / "empty").mkdir()
    folders = make(merger.root)  # type: ignore[operator]
    r = merger.doit("ci-merge", *folders)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("conjure: error: ci-merge: ") and r.stderr.count("\n") == 1
    assert message in r.stderr
    assert not (merger.root / "cache/testing/junit.xml").exists()


def _broken(root: Path, relative: str) -> Path:
    folder = _shard_folder(root, "1/2", [_case("test_a")])
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("mode: set\nx.go:1.1,2.2 1 one\n" if path.suffix == ".out" else "{oops")
    return folder


def _copy(root: Path) -> Path:
    return Path(shutil.copytree(root / "shard-1-2", root / "again"))


def test_missing_shard_stale_results_and_duplicates_are_notes(merger: Project) -> None:
    root = merger.root
    one = _shard_folder(root, "1/3", [_case("test_a"), _case("test_b")])
    three = _shard_folder(root, "3/3", [_case("test_b", "failed"), _case("test_c")])
    stale = SuiteResult("api", 1.0, 2.0, cases=[_case("test_old")], shard="")
    (three / "results" / "api.json").write_text(json.dumps(stale.as_dict()))
    summary = {"suites": [{"suite": "unit"}, {"suite": "api"}], "missing": []}
    (three / "summary.json").write_text(json.dumps(summary))
    r = merger.doit("ci-merge", str(one), str(three))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "note: shard 2/3 is missing: its tests are not in this report" in r.stdout
    assert "results of suite api are of shard 1/1, not 3/3: left out" in r.stdout
    assert "tests/test_x.py::test_b ran in shards 1/3 and 3/3" in r.stdout
    cases = _junit_cases(root / "cache/testing/junit.xml")
    assert cases == [
        ("unit", "tests/test_x.py::test_a", "passed"),
        ("unit", "tests/test_x.py::test_b", "failed"),
        ("unit", "tests/test_x.py::test_c", "passed"),
    ]
    summary = read_json(root / "cache/testing/summary.json")
    assert summary["missing_shards"] == ["2/3"] and summary["ok"] is False


def test_unusable_python_coverage_data_is_a_note(merger: Project) -> None:
    folder = _shard_folder(merger.root, "1/1", [_case("test_a")])
    (folder / "coverage/python").mkdir(parents=True)
    (folder / "coverage/python/.coverage.unit.host.1.2").write_text("data")
    r = merger.doit("ci-merge", str(folder))
    assert r.returncode == 0, r.stdout + r.stderr
    note = "note: Python coverage not combined: coverage combine failed (exit 1): Couldn't use"
    assert note in r.stdout
    assert read_json(merger.root / "cache/testing/summary.json")["coverage"]["notes"]


def test_fold_keeps_unmeasured_tests_and_smooths_measured_ones() -> None:
    local = {"a": 1.0, "b": 2.0}
    shard1 = ({"a": 1.0, "b": 2.0, "c": 9.0}, {"a": 3.0})
    shard2 = ({"a": 1.0, "d": 4.0, "e": 5.0}, {"d": 4.0, "f": 0.5})
    folded = fold_shard_durations(local, [shard1, shard2])
    assert folded == {
        "a": pytest.approx(0.7 * 3.0 + 0.3 * 1.0),
        "b": 2.0,  # nobody ran it
        "c": 9.0,  # only a shard's record knew it
        "d": 4.0,  # measured by a shard whose record already holds the measure
        "e": 5.0,
        "f": 0.5,  # new test
    }


GO_CODE = """package c

func Left(x int) int {
\tif x > 0 {
\t\treturn x
\t}
\treturn -x
}

func Right(x int) int {
\treturn x * 2
}
"""

GO_TESTS = """package c

import "testing"

func TestLeft(t *testing.T) { Left(1) }

func TestRight(t *testing.T) { Right(1) }
"""

GO_DODO = """
from conjure.testing import CoverageSpec, GoTests, Suite, test_tasks

tests = test_tasks(
    [Suite("unit", GoTests("gomod", coverage=True))],
    coverage=CoverageSpec(go_module="gomod"),
)
"""


@needs_go
def test_go_cover_profiles_of_the_shards_are_merged(project: Project, tmp_path: Path) -> None:
    project.write("gomod/go.mod", "module example.com/c\n\ngo 1.22\n")
    project.write("gomod/c.go", GO_CODE)
    project.write("gomod/c_test.go", GO_TESTS)
    project.dodo(GO_DODO)
    copies = run_shards(project, tmp_path, 2)
    percents = [read_json(c.root / "cache/testing/summary.json")["coverage"] for c in copies]
    assert [p["go_percent"] for p in percents] == [50.0, 25.0]  # TestLeft, TestRight
    r = project.doit("ci-merge", *(str(c.root / "cache/testing") for c in copies))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Go coverage: 75.0% of statements" in r.stdout  # all but `return -x`
    summary = read_json(project.root / "cache/testing/summary.json")
    assert summary["coverage"]["go_percent"] == 75.0
    assert (project.root / "cache/testing/coverage/go-combined.html").is_file()
