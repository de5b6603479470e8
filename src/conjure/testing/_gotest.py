"""``go test -json`` events to test cases (top-level tests; subtests' output goes to their
parent), fed one line at a time so output can be shown while the tests run."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from conjure.testing._model import FAILED, PASSED, SKIPPED, TestCase

_RESULTS = {"pass": PASSED, "fail": FAILED, "skip": SKIPPED}
OUTPUT_LIMIT = 20_000
_NOISE = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME")
"""Characters of output kept per failing test (the end is kept)."""


@dataclass
class _Test:
    output: list[str] = field(default_factory=list)
    outcome: str = ""
    elapsed: float = 0.0


@dataclass
class _Package:
    tests: dict[str, _Test] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    outcome: str = ""


class GoEvents:
    """Collects ``go test -json`` events, per package and top-level test."""

    def __init__(self) -> None:
        self.packages: dict[str, _Package] = {}
        self.builds: dict[str, list[str]] = {}

    def feed(self, line: str) -> str:
        """Takes one line of ``go test -json`` output.

        Returns:
            The human-readable text it carries ("" for none); a line that is not JSON (a
            build error printed by go itself) is returned as is.
        """
        line = line.rstrip("\n")
        if not line.startswith("{"):
            return line + "\n" if line else ""
        try:
            event = json.loads(line)
        except ValueError:
            return line + "\n"
        text = self._event(event)
        return "" if text.startswith(_NOISE) else text

    def _event(self, event: dict[str, object]) -> str:
        action = event.get("Action")
        if action in ("build-output", "build-fail"):  # go >= 1.24: compiler output
            build = self.builds.setdefault(str(event.get("ImportPath") or ""), [])
            build.append(str(event.get("Output") or ""))
            return str(event.get("Output") or "")
        package = self.packages.setdefault(str(event.get("Package") or ""), _Package())
        if event.get("FailedBuild"):
            package.output[:0] = self.builds.get(str(event["FailedBuild"]), [])
        test_name = str(event.get("Test") or "")
        top = test_name.split("/", 1)[0]
        text = str(event.get("Output") or "")
        if not top:
            if action == "output":
                package.output.append(text)
            elif action in _RESULTS:
                package.outcome = _RESULTS[str(action)]
            return text
        test = package.tests.setdefault(top, _Test())
        if action == "output":
            test.output.append(text)
        elif action in _RESULTS and test_name == top:
            test.outcome = _RESULTS[str(action)]
            elapsed = event.get("Elapsed")
            test.elapsed = float(elapsed) if isinstance(elapsed, (int, float)) else 0.0
        return text

    def cases(self, stopped: str = "") -> list[TestCase]:
        """The results so far, one case per top-level test.

        Args:
            stopped: why the process was stopped (a timeout); tests without a result then
                fail with this message and their last output.

        A package that failed without any failing test (it did not build, or its test binary
        crashed) becomes one failing case named ``[package]`` with the package's output.
        """
        cases: list[TestCase] = []
        for path, package in sorted(self.packages.items()):
            if not path:
                continue
            cases.extend(_package_cases(path, package, stopped))
        return cases

    def unparented_output(self) -> str:
        """Output that belongs to no package (go's own errors)."""
        pkg = self.packages.get("")
        return "".join(pkg.output) if pkg else ""


def _package_cases(path: str, package: _Package, stopped: str) -> list[TestCase]:
    cases = []
    for name, test in sorted(package.tests.items()):
        outcome = test.outcome or FAILED
        message = ""
        if not test.outcome:
            message = stopped or "no result: the test binary stopped before this test finished"
        elif outcome == FAILED:
            message = "test failed"
        elif outcome == SKIPPED:
            message = _skip_reason(test.output)
        output = "".join(test.output) if outcome == FAILED else ""
        cases.append(
            TestCase("go", path, name, outcome, test.elapsed, path, message, output[-OUTPUT_LIMIT:])
        )
    failed_any = any(c.outcome == FAILED for c in cases)
    if (package.outcome == FAILED or (stopped and not package.outcome)) and not failed_any:
        text = "".join(package.output)
        message = stopped or _first_line(text) or "package failed"
        cases.append(
            TestCase("go", path, "[package]", FAILED, 0.0, path, message, text[-OUTPUT_LIMIT:])
        )
    return cases


def _skip_reason(lines: Iterable[str]) -> str:
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith(("=== ", "--- SKIP")):
            return stripped
    return "skipped"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.startswith(("FAIL", "ok ", "#")):
            return line.strip()[:200]
    return ""


def parse_go_json(lines: Iterable[str]) -> list[TestCase]:
    """All cases of a complete ``go test -json`` output."""
    events = GoEvents()
    for line in lines:
        events.feed(line)
    return events.cases()
