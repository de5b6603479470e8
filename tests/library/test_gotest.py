"""Reading ``go test -json``: results per test and package, durations, failures shown."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from conjure._gotest import Report, package_lines, run, summary_line

EVENTS = [
    {"Action": "start", "Package": "m/a"},
    {"Action": "run", "Package": "m/a", "Test": "TestOk"},
    {"Action": "output", "Package": "m/a", "Test": "TestOk", "Output": "=== RUN   TestOk\n"},
    {"Action": "pass", "Package": "m/a", "Test": "TestOk", "Elapsed": 0.25},
    {"Action": "run", "Package": "m/a", "Test": "TestBad"},
    {"Action": "output", "Package": "m/a", "Test": "TestBad", "Output": "    a_test.go:9: boom\n"},
    {"Action": "fail", "Package": "m/a", "Test": "TestBad", "Elapsed": 0.5},
    {"Action": "run", "Package": "m/a", "Test": "TestBad/sub"},
    {"Action": "skip", "Package": "m/a", "Test": "TestBad/sub", "Elapsed": 0},
    {"Action": "fail", "Package": "m/a", "Elapsed": 0.9},
    {"Action": "skip", "Package": "m/empty", "Elapsed": 0},
]


def _report() -> tuple[Report, list[object]]:
    report = Report()
    finished = [report.feed(json.dumps(e) + "\n").finished for e in EVENTS]
    return report, [f for f in finished if f is not None]


def test_results_and_durations_per_test() -> None:
    report, finished = _report()
    assert [p.package for p in finished] == ["m/a", "m/empty"]  # type: ignore[attr-defined]
    got = {(t.package, t.name): (t.result, t.seconds) for t in report.tests()}
    assert got == {
        ("m/a", "TestOk"): ("pass", 0.25),
        ("m/a", "TestBad"): ("fail", 0.5),
        ("m/a", "TestBad/sub"): ("skip", 0.0),
    }
    assert report.totals() == {"pass": 1, "fail": 1, "skip": 1}
    assert report.packages["m/a"].result == "fail"


def test_lines_show_the_failed_test_output_and_totals() -> None:
    report, _ = _report()
    lines = package_lines(report.packages["m/a"])
    assert lines[0] == "FAIL m/a  0.90s  (1 passed, 1 failed, 1 skipped)"
    assert "     |     a_test.go:9: boom" in lines
    assert package_lines(report.packages["m/empty"]) == ["?    m/empty  [no test files]"]
    assert summary_line(report) == "go test: 1 passed, 1 failed, 1 skipped in 2 packages"


def test_non_json_lines_are_kept_and_build_failures_shown() -> None:
    report = Report()
    assert report.feed("# m/b\n").text == "# m/b\n"
    build = "m/b [m/b.test]"  # go >= 1.24: compiler output as build events
    report.feed(
        json.dumps({"Action": "build-output", "ImportPath": build, "Output": "x.go:1: bad\n"})
    )
    report.feed(json.dumps({"Action": "build-fail", "ImportPath": build}))
    fail = {"Action": "fail", "Package": "m/b", "Elapsed": 0, "FailedBuild": build}
    done = report.feed(json.dumps(fail)).finished
    assert report.other == ["# m/b"]
    assert done is not None and [p.package for p in report.named_packages()] == ["m/b"]
    assert "     | x.go:1: bad" in package_lines(done)


def test_a_failing_subtest_output_is_shown_under_its_test() -> None:
    report, _ = _report()
    report.feed(json.dumps({"Action": "run", "Package": "m/c", "Test": "TestX"}))
    for test, text in (("TestX/sub", "    x_test.go:3: inner boom\n"), ("TestX", "--- FAIL\n")):
        report.feed(
            json.dumps({"Action": "output", "Package": "m/c", "Test": test, "Output": text})
        )
    report.feed(json.dumps({"Action": "fail", "Package": "m/c", "Test": "TestX/sub"}))
    report.feed(json.dumps({"Action": "fail", "Package": "m/c", "Test": "TestX"}))
    done = report.feed(json.dumps({"Action": "fail", "Package": "m/c", "Elapsed": 0.1})).finished
    assert done is not None
    lines = package_lines(done)
    assert lines[1:] == ["     |     x_test.go:3: inner boom", "     | --- FAIL"]


def test_the_wrapper_exits_with_the_child_code() -> None:
    script = 'import sys; print(\'{"Action":"pass","Package":"m","Elapsed":0.1}\'); sys.exit(3)'
    out = io.StringIO()
    code, report = run([sys.executable, "-c", script], out)
    assert code == 3
    assert report.packages["m"].result == "pass"
    done = subprocess.run(
        [sys.executable, "-m", "conjure._gotest", "--", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3
    assert done.stdout.splitlines()[-1] == "go test: 0 passed, 0 failed, 0 skipped in 1 packages"
