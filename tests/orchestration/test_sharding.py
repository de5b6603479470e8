"""Sharding, plans, filters, shuffling and re-runs on real doit runs."""

from __future__ import annotations

import json

from conjure.testing._runner import local_workers
from tests.conftest import Project
from tests.orchestration.conftest import log_of, make_project, needs_go, read_json

pytestmark = needs_go

ALL_PY = ["test_fast", "test_slow", "test_param[1]", "test_param[2]", "test_param[3]", "test_api"]


def _case_ids(project: Project) -> set[str]:
    ids = set()
    for suite in ("unit", "api"):
        path = project.root / f"cache/testing/results/{suite}.json"
        if path.exists():
            ids |= {f"{c['group']}::{c['name']}" for c in read_json(path)["cases"]}
    return ids


def test_shards_split_all_tests_without_overlap(tests_project: Project) -> None:
    seen: list[set[str]] = []
    for index in (1, 2):
        # every CI worker starts from the same cache: here, no recorded durations
        (tests_project.root / "cache/testing/durations.json").unlink(missing_ok=True)
        for path in (tests_project.root / "cache/testing/results").glob("*.json"):
            path.unlink()
        r = tests_project.doit("test-all", "--shard", f"{index}/2")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "<- this shard" in r.stdout
        seen.append(_case_ids(tests_project))
    assert not seen[0] & seen[1]
    assert len(seen[0] | seen[1]) == 6 + 1 + 4  # 6 python (+1 skipped) and 4 go tests
    assert sorted(log_of(tests_project)) == sorted(ALL_PY)


def test_recorded_durations_drive_the_split(tests_project: Project) -> None:
    durations = tests_project.root / "cache/testing/durations.json"
    assert tests_project.doit("test-all").returncode == 0
    recorded = read_json(durations)["tests"]
    assert recorded["pytest:py:tests/test_things.py::test_slow"] >= 0.3
    assert recorded["go:example.com/g:TestSlow"] >= 0.2
    # make one test dominate: it must get a shard of its own
    recorded["pytest:py:tests/test_things.py::test_fast"] = 100.0
    durations.write_text(json.dumps({"format": 1, "tests": recorded}))
    r = tests_project.doit("test-all", "--shard", "1/2", "--dry-run")
    assert r.returncode == 0, r.stdout
    plan = read_json(tests_project.root / "cache/testing/plan.json")
    shard_counts = sorted(s["tests"] for s in plan["shards"])
    assert shard_counts == [1, 10] and plan["tests"] == ["py/tests/test_things.py::test_fast"]
    assert plan["unknown"] == 0
    assert sorted(log_of(tests_project)) == sorted(ALL_PY)  # the dry run ran nothing more


def test_dry_run_prints_the_plan_and_runs_nothing(tests_project: Project) -> None:
    r = tests_project.doit("test-all", "--shard", "2/3", "--dry-run")
    assert r.returncode == 0, r.stdout
    assert "plan: 11 tests of unit, api over 3 shard(s); 11 without a recorded duration" in r.stdout
    assert "  shard 2:" in r.stdout and "<- this shard" in r.stdout
    assert log_of(tests_project) == []


def test_empty_shard_succeeds_with_a_note(project: Project) -> None:
    make_project(project)
    r = project.doit("test-all", "--suite", "api", "--shard", "3/3")
    assert r.returncode == 0, r.stdout
    assert "note: shard 3/3: no tests of suite api in this shard" in r.stdout
    assert log_of(project) == []


def test_corrupt_durations_record_is_exit_2(tests_project: Project) -> None:
    tests_project.write("cache/testing/durations.json", "{oops")
    r = tests_project.doit("test-all", "--shard", "1/2")
    assert r.returncode == 2
    assert r.stderr.startswith(
        "conjure: error: corrupt durations record cache/testing/durations.json"
    )
    assert r.stderr.strip().endswith("delete it; the next run records durations again")


def test_filters_file_runs_exactly_the_listed_tests(tests_project: Project) -> None:
    tests_project.write(
        "only.txt",
        "# a comment\npy/tests/test_things.py::test_param[2]\nexample.com/g::TestSlow\nno/such::test\n",
    )
    r = tests_project.doit("test-all", "--filters-file", "only.txt")
    assert r.returncode == 0, r.stdout
    assert log_of(tests_project) == ["test_param[2]"]
    assert _case_ids(tests_project) == {
        "py::tests/test_things.py::test_param[2]",
        "example.com/g::TestSlow",
    }
    assert "note: filter matched no test: no/such::test" in r.stdout


def test_shuffle_with_a_seed_is_reproducible(tests_project: Project) -> None:
    orders = []
    for _ in range(2):
        (tests_project.root / "py/log.txt").unlink(missing_ok=True)
        r = tests_project.doit(
            "--always", "test-all", "--suite", "unit", "--shuffle", "--seed", "42"
        )
        assert r.returncode == 0, r.stdout
        assert "order shuffled with --seed 42" in r.stdout
        orders.append(log_of(tests_project))
    assert orders[0] == orders[1] and sorted(orders[0]) == sorted(ALL_PY[:-1])
    (tests_project.root / "py/log.txt").unlink()
    assert (
        tests_project.doit("test-all", "--suite", "unit", "--shuffle", "--seed", "7").returncode
        == 0
    )
    assert sorted(log_of(tests_project)) == sorted(orders[0])


FLAKY = """
import os
import pytest

@pytest.mark.unit
def test_flaky():
    with open("attempts.txt", "a") as f:
        f.write("flaky\\n")
    assert os.path.getsize("attempts.txt") > len("flaky\\n"), "fails on the first attempt"

@pytest.mark.unit
def test_broken():
    with open("broken.txt", "a") as f:
        f.write("broken\\n")
    assert False, "always fails"

@pytest.mark.unit
def test_steady():
    with open("steady.txt", "a") as f:
        f.write("steady\\n")
"""


def test_reruns_repeat_only_failed_tests_and_report_flaky(project: Project) -> None:
    make_project(project, py_tests=FLAKY)
    r = project.doit("test-all", "--suite", "unit", "--reruns", "2")
    assert r.returncode == 1
    assert project.log_lines("py/attempts.txt") == ["flaky", "flaky"]
    assert project.log_lines("py/broken.txt") == ["broken"] * 3
    assert project.log_lines("py/steady.txt") == ["steady"]
    summary = read_json(project.root / "cache/testing/summary.json")
    assert [c["id"] for c in summary["flaky"]] == ["py/tests/test_things.py::test_flaky"]
    assert summary["flaky"][0]["attempts"] == 2
    assert [(c["id"], c["attempts"]) for c in summary["failures"]] == [
        ("py/tests/test_things.py::test_broken", 3)
    ]
    assert "FLAKY  unit: py/tests/test_things.py::test_flaky (passed on attempt 2)" in r.stdout


def test_a_flaky_test_alone_passes_the_run(project: Project) -> None:
    make_project(project, py_tests=FLAKY.replace("assert False", "pass  #"))
    r = project.doit("test-all", "--suite", "unit", "--reruns", "1")
    assert r.returncode == 0, r.stdout
    assert read_json(project.root / "cache/testing/summary.json")["totals"]["flaky"] == 1


TIMED = """
import os, time
import pytest

@pytest.mark.parametrize("n", range(4))
def test_timed(n):
    start = time.time()
    time.sleep(0.6)
    with open("times.txt", "a") as f:
        f.write(f"{os.getpid()} {start} {time.time()}\\n")
"""


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_chunks_run_as_separate_processes_on_the_local_cpus(project: Project) -> None:
    project.write("py/tests/test_timed.py", TIMED)
    project.dodo(
        """
        from conjure.testing import PytestTests, Suite, test_tasks
        tests = test_tasks([Suite("unit", PytestTests("py", uv=False))])
        """
    )
    r = project.doit("test-all", "--chunks", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "suite unit: 4 chunk(s) on this shard" in r.stdout
    assert "== chunk 4/4" in r.stdout
    rows = [line.split() for line in (project.root / "py/times.txt").read_text().splitlines()]
    assert len({pid for pid, _, _ in rows}) == 4  # one pytest process per chunk
    workers = local_workers()
    at_once = _most_at_once([(float(s), float(e)) for _, s, e in rows])
    assert at_once <= workers and (at_once >= 2 or workers == 1)
    results = read_json(project.root / "cache/testing/results/unit.json")
    assert sorted(c["outcome"] for c in results["cases"]) == ["passed"] * 4
