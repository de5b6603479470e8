"""``go test -json``, read: per-test pass/fail/skip and durations, a short summary, a report.

The one reader of ``go test -json`` in conjure: ``Report`` takes the child's output a line at
a time (so it can be shown while the tests run); ``go.test`` tasks print its package lines,
and test orchestration (``conjure.testing``) turns it into test cases.

Run as ``python -m conjure._gotest [--report FILE] [--verbose] -- go test -json ...``: the
child's events are parsed as they arrive; one line per package is printed, with the output of
each failed test; the report (JSON) is written; the exit code is the child's. The wrapper and
``go test`` share one process group, so stopping the task stops both.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

RESULTS = ("pass", "fail", "skip")


@dataclass
class TestResult:
    """One test (or subtest) of one package.

    Attributes:
        package: the import path.
        name: the test name (``TestFoo/sub`` for a subtest).
        result: ``pass``, ``fail`` or ``skip``; ``""`` while running (or when killed).
        seconds: what ``go test`` reported as elapsed.
        output: what the test and its subtests printed, in order, as ``go test`` sent it
            (each piece usually one line ending in a newline).
    """

    __test__ = False  # not a pytest test class

    package: str
    name: str
    result: str = ""
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)

    @property
    def top_level(self) -> bool:
        """Whether it is a test function, not a subtest."""
        return "/" not in self.name


@dataclass
class PackageResult:
    """One package: its result, elapsed time and its tests (subtests too) in order of start.

    ``output`` is what the package printed outside its tests; for a package that did not
    build, the compiler's output comes first.
    """

    package: str
    result: str = ""
    seconds: float = 0.0
    tests: dict[str, TestResult] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    def count(self, result: str) -> int:
        """How many tests ended with ``result``."""
        return sum(1 for t in self.tests.values() if t.result == result)


class Fed(NamedTuple):
    """What one line of ``go test -json`` output carried.

    Attributes:
        text: the human-readable text in it ("" for none); a line that is not JSON (go's own
            errors) is returned as is.
        finished: the package this line finished, if any.
    """

    text: str
    finished: PackageResult | None = None


class Report:
    """Collects ``go test -json`` events (``feed`` one line at a time).

    Attributes:
        packages: results by import path; events that name no package go to ``""``.
        builds: compiler output by build id (``m/p [m/p.test]``, go >= 1.24), copied to the
            package whose ``FailedBuild`` names it.
        other: lines that are not events (go's own messages), in order.
    """

    def __init__(self) -> None:
        self.packages: dict[str, PackageResult] = {}
        self.builds: dict[str, list[str]] = {}
        self.other: list[str] = []

    def feed(self, line: str) -> Fed:
        """Reads one line of output."""
        line = line.rstrip("\n")
        event: Any = None
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                event = None
        if not isinstance(event, dict) or "Action" not in event:
            if line.strip():
                self.other.append(line)
            return Fed(line + "\n" if line else "")
        return self._event(event)

    def _event(self, event: dict[str, Any]) -> Fed:
        action = str(event["Action"])
        text = str(event.get("Output") or "")
        if action in ("build-output", "build-fail"):
            if text:
                self.builds.setdefault(str(event.get("ImportPath") or ""), []).append(text)
            return Fed(text)
        name = str(event.get("Package") or "")
        package = self.packages.setdefault(name, PackageResult(name))
        if event.get("FailedBuild"):
            package.output[:0] = self.builds.get(str(event["FailedBuild"]), [])
        test_name = str(event.get("Test") or "")
        elapsed = event.get("Elapsed")
        seconds = float(elapsed) if isinstance(elapsed, (int, float)) else 0.0
        if test_name:
            self._test_event(package, test_name, action, text, seconds)
        elif action == "output":
            package.output.append(text)
        elif action in RESULTS:
            package.result = action
            package.seconds = seconds
            return Fed(text, package)
        return Fed(text)

    @staticmethod
    def _test_event(
        package: PackageResult, name: str, action: str, text: str, seconds: float
    ) -> None:
        test = package.tests.setdefault(name, TestResult(package.package, name))
        if action == "output":
            parts = name.split("/")
            for depth in range(1, len(parts) + 1):  # the test and each test above it
                ancestor = "/".join(parts[:depth])
                package.tests.setdefault(ancestor, TestResult(package.package, ancestor))
                package.tests[ancestor].output.append(text)
        elif action in RESULTS:
            test.result = action
            test.seconds = seconds

    def named_packages(self) -> list[PackageResult]:
        """The packages, without the ``""`` entry of events that name none."""
        return [p for name, p in self.packages.items() if name]

    def tests(self) -> list[TestResult]:
        """Every test of every package."""
        return [t for p in self.packages.values() for t in p.tests.values()]

    def totals(self) -> dict[str, int]:
        """Counts of passed, failed and skipped tests (subtests included)."""
        tests = self.tests()
        return {r: sum(1 for t in tests if t.result == r) for r in RESULTS}

    def as_json(self) -> dict[str, Any]:
        """The report as written to ``--report``."""
        return {
            "totals": self.totals(),
            "packages": [
                {"package": p.package, "result": p.result, "seconds": p.seconds}
                for p in self.named_packages()
            ],
            "tests": [
                {"package": t.package, "test": t.name, "result": t.result, "seconds": t.seconds}
                for t in self.tests()
            ],
        }


_WORDS = (("pass", "passed"), ("fail", "failed"), ("skip", "skipped"))


def _quoted(pieces: Iterable[str]) -> list[str]:
    lines = (line for piece in pieces for line in piece.splitlines())
    return ["     | " + line for line in lines if line.strip()]


def package_lines(package: PackageResult, verbose: bool = False) -> list[str]:
    """The lines printed when a package finishes."""
    if not package.tests and package.result == "skip":
        return [f"?    {package.package}  [no test files]"]
    counts = [f"{package.count(r)} {word}" for r, word in _WORDS if package.count(r)]
    label = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}.get(package.result, "????")
    lines = [
        f"{label} {package.package}  {package.seconds:.2f}s  ({', '.join(counts) or 'no tests'})"
    ]
    for test in package.tests.values():
        if verbose:
            lines.append(f"     {test.result or 'stop':4} {test.name} ({test.seconds:.2f}s)")
        if test.result == "fail" and test.top_level:
            lines.extend(_quoted(test.output))
    if package.result == "fail" and not package.tests:
        lines.extend(_quoted(package.output))
    return lines


def summary_line(report: Report) -> str:
    """The last line: totals over all packages."""
    totals = report.totals()
    parts = [f"{totals[r]} {word}" for r, word in _WORDS]
    return f"go test: {', '.join(parts)} in {len(report.named_packages())} packages"


def run(command: Sequence[str], out: IO[str], verbose: bool = False) -> tuple[int, Report]:
    """Runs ``go test -json ...``, printing package lines as packages finish."""
    report = Report()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            finished = report.feed(line).finished
            if finished is not None:
                out.write("\n".join(package_lines(finished, verbose)) + "\n")
                out.flush()
    for text in report.other:
        out.write(text + "\n")
    out.write(summary_line(report) + "\n")
    return proc.returncode, report


def write_report(path: str, report: Report) -> None:
    """Writes the JSON report atomically."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(report.as_json(), handle, indent=1)
    os.replace(temp, path)


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m conjure._gotest [--report FILE] [--verbose] -- go test -json ...``."""
    parser = argparse.ArgumentParser(prog="python -m conjure._gotest")
    parser.add_argument("--report", help="write per-test results as JSON here")
    parser.add_argument("--verbose", action="store_true", help="one line per test")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    try:
        code, report = run(command, sys.stdout, args.verbose)
    except OSError as err:
        print(f"cannot start {command[0]}: {err.strerror or err}", file=sys.stderr)
        return 127
    if args.report:
        write_report(args.report, report)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
