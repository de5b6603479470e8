"""``go test -json`` as test cases: one per top-level test (its subtests' output included).

The events are read by ``conjure._gotest.Report`` (the one reader); this module only turns
what it collected into ``TestCase`` values and filters go's ``=== RUN`` noise from the text
shown while the tests run.
"""

from __future__ import annotations

from collections.abc import Iterable

from conjure._gotest import PackageResult, Report, TestResult
from conjure.testing._model import FAILED, PASSED, SKIPPED, TestCase

_OUTCOMES = {"pass": PASSED, "fail": FAILED, "skip": SKIPPED}
OUTPUT_LIMIT = 20_000
"""Characters of output kept per failing test (the end is kept)."""
_NOISE = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME")


class GoEvents:
    """Collects ``go test -json`` events, per package and top-level test."""

    def __init__(self) -> None:
        self.report = Report()

    def feed(self, line: str) -> str:
        """Takes one line of ``go test -json`` output.

        Returns:
            The human-readable text it carries ("" for none and for ``=== RUN`` lines); a
            line that is not JSON (a build error printed by go itself) is returned as is.
        """
        text = self.report.feed(line).text
        return "" if text.startswith(_NOISE) else text

    def cases(self, stopped: str = "") -> list[TestCase]:
        """The results so far, one case per top-level test.

        Args:
            stopped: why the process was stopped (a timeout); tests without a result then
                fail with this message and their last output.

        A package that failed without any failing test (it did not build, or its test binary
        crashed) becomes one failing case named ``[package]`` with the package's output.
        """
        cases: list[TestCase] = []
        for package in sorted(self.report.named_packages(), key=lambda p: p.package):
            cases.extend(_package_cases(package, stopped))
        return cases


def _test_case(test: TestResult, stopped: str) -> TestCase:
    outcome = _OUTCOMES.get(test.result, FAILED)
    message = ""
    if not test.result:
        message = stopped or "no result: the test binary stopped before this test finished"
    elif outcome == FAILED:
        message = "test failed"
    elif outcome == SKIPPED:
        message = _skip_reason(test.output)
    output = "".join(test.output) if outcome == FAILED else ""
    path = test.package
    return TestCase(
        "go", path, test.name, outcome, test.seconds, path, message, output[-OUTPUT_LIMIT:]
    )


def _package_cases(package: PackageResult, stopped: str) -> list[TestCase]:
    tops = sorted((t for t in package.tests.values() if t.top_level), key=lambda t: t.name)
    cases = [_test_case(test, stopped) for test in tops]
    failed_any = any(c.outcome == FAILED for c in cases)
    outcome = _OUTCOMES.get(package.result, "")
    if (outcome == FAILED or (stopped and not outcome)) and not failed_any:
        text = "".join(package.output)
        message = stopped or _first_line(text) or "package failed"
        path = package.package
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
