"""``go test -json``, read: per-test pass/fail/skip and durations, a short summary, a report.

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
from typing import IO, Any

RESULTS = ("pass", "fail", "skip")


@dataclass
class TestResult:
    """One test (or subtest) of one package.

    Attributes:
        package: the import path.
        name: the test name (``TestFoo/sub`` for a subtest).
        result: ``pass``, ``fail`` or ``skip``; ``""`` while running (or when killed).
        seconds: what ``go test`` reported as elapsed.
        output: the test's output lines.
    """

    package: str
    name: str
    result: str = ""
    seconds: float = 0.0
    output: list[str] = field(default_factory=list)


@dataclass
class PackageResult:
    """One package: its result, elapsed time and its tests in order of start."""

    package: str
    result: str = ""
    seconds: float = 0.0
    tests: dict[str, TestResult] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    def count(self, result: str) -> int:
        """How many tests ended with ``result``."""
        return sum(1 for t in self.tests.values() if t.result == result)


class Report:
    """Collects ``go test -json`` events (``feed`` one line at a time)."""

    def __init__(self) -> None:
        self.packages: dict[str, PackageResult] = {}
        self.other: list[str] = []

    def feed(self, line: str) -> PackageResult | None:
        """Reads one line; returns the package when this line finished it."""
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict) or "Action" not in event:
            if line.strip():
                self.other.append(line.rstrip("\n"))
            return None
        return self._event(event)

    def _event(self, event: dict[str, Any]) -> PackageResult | None:
        action = event["Action"]
        name = event.get("Package") or event.get("ImportPath") or "?"
        package = self.packages.setdefault(name, PackageResult(name))
        test_name = event.get("Test")
        if action in ("build-output", "build-fail"):
            package.output.append(str(event.get("Output", "")).rstrip("\n"))
            return None
        if test_name is None:
            if action == "output":
                package.output.append(str(event.get("Output", "")).rstrip("\n"))
            elif action in RESULTS:
                package.result = action
                package.seconds = float(event.get("Elapsed") or 0.0)
                return package
            return None
        test = package.tests.setdefault(test_name, TestResult(name, test_name))
        if action == "output":
            test.output.append(str(event.get("Output", "")).rstrip("\n"))
        elif action in RESULTS:
            test.result = action
            test.seconds = float(event.get("Elapsed") or 0.0)
        return None

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
                for p in self.packages.values()
            ],
            "tests": [
                {"package": t.package, "test": t.name, "result": t.result, "seconds": t.seconds}
                for t in self.tests()
            ],
        }


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
        if test.result == "fail" and "/" not in test.name:
            lines.extend("     | " + text for text in test.output if text)
    if package.result == "fail" and not package.tests:
        lines.extend("     | " + text for text in package.output if text)
    return lines


_WORDS = (("pass", "passed"), ("fail", "failed"), ("skip", "skipped"))


def summary_line(report: Report) -> str:
    """The last line: totals over all packages."""
    totals = report.totals()
    parts = [f"{totals[r]} {word}" for r, word in _WORDS]
    return f"go test: {', '.join(parts)} in {len(report.packages)} packages"


def run(command: Sequence[str], out: IO[str], verbose: bool = False) -> tuple[int, Report]:
    """Runs ``go test -json ...``, printing package lines as packages finish."""
    report = Report()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            finished = report.feed(line)
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
