"""The test-result model: one ``TestCase`` per test, one ``SuiteResult`` per suite run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
FLAKY = "flaky"
OUTCOMES = (PASSED, FAILED, SKIPPED, FLAKY)


@dataclass
class TestCase:
    """One test's result.

    Attributes:
        runner: ``pytest`` or ``go``.
        group: pytest: the project folder; go: the package import path.
        name: pytest: the node id within the project; go: the top-level test name.
        outcome: ``passed``, ``failed``, ``skipped`` or ``flaky`` (failed, then passed on a
            re-run).
        duration: seconds of the last attempt.
        classname: the JUnit classname (pytest's dotted module and class; go's package).
        message: one line on a failure or skip.
        output: the failure text and captured output (of the first failing attempt for a
            flaky test).
        attempts: how many times it ran.
    """

    __test__ = False  # not a pytest test class

    runner: str
    group: str
    name: str
    outcome: str
    duration: float = 0.0
    classname: str = ""
    message: str = ""
    output: str = ""
    attempts: int = 1

    @property
    def key(self) -> str:
        """The test's identity across runs and suites (durations are recorded by key)."""
        return f"{self.runner}:{self.group}:{self.name}"

    @property
    def ident(self) -> str:
        """What a person reads and writes in a filters file: ``addon/tests/t.py::test_x``
        or ``example.com/m/pkg::TestX``."""
        return format_ident(self.runner, self.group, self.name)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestCase:
        """The inverse of ``as_dict``."""
        return cls(**data)


def format_ident(runner: str, group: str, name: str) -> str:
    """The readable id of a test (see ``TestCase.ident``)."""
    if runner == "pytest":
        return name if group in ("", ".") else f"{group.rstrip('/')}/{name}"
    return f"{group}::{name}"


@dataclass
class SuiteResult:
    """What one suite run produced.

    Attributes:
        suite: the suite's name.
        started: Unix time the suite started.
        finished: Unix time it finished.
        cases: every test's result.
        notes: lines a person should read (an empty shard, a timeout).
        shard: ``K/N`` when the run was one shard, else ``""``.
    """

    suite: str
    started: float
    finished: float
    cases: list[TestCase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shard: str = ""

    @property
    def duration(self) -> float:
        """Wall seconds of the suite."""
        return max(0.0, self.finished - self.started)

    def count(self, outcome: str) -> int:
        """How many cases have an outcome."""
        return sum(1 for case in self.cases if case.outcome == outcome)

    @property
    def ok(self) -> bool:
        """No test failed (flaky tests count as passed)."""
        return self.count(FAILED) == 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "suite": self.suite,
            "started": self.started,
            "finished": self.finished,
            "shard": self.shard,
            "notes": list(self.notes),
            "cases": [case.as_dict() for case in self.cases],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteResult:
        """The inverse of ``as_dict``."""
        return cls(
            suite=data["suite"],
            started=float(data["started"]),
            finished=float(data["finished"]),
            cases=[TestCase.from_dict(c) for c in data.get("cases", [])],
            notes=list(data.get("notes", [])),
            shard=data.get("shard", ""),
        )
