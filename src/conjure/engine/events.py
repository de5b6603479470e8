"""Events the engine emits; a reporter turns them into output. The engine never prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conjure.engine.statuses import CACHED as CACHED
from conjure.engine.statuses import CANCELLED as CANCELLED
from conjure.engine.statuses import FAILED as FAILED
from conjure.engine.statuses import RAN as RAN
from conjure.engine.statuses import SKIPPED as SKIPPED
from conjure.engine.statuses import UP_TO_DATE as UP_TO_DATE
from conjure.engine.statuses import WOULD_RUN as WOULD_RUN


@dataclass(frozen=True)
class Reason:
    """Why a task runs (or would run).

    Attributes:
        kind: a short code: ``never-ran``, ``forced``, ``definition``, ``uptodate``,
            ``always``, ``target-missing``, ``target-changed``, ``file-changed``,
            ``file-added``, ``file-removed``, ``upstream``; ``finally`` (explanations only: a
            finally task's note that it also runs after a failure).
        message: one line for a person.
        path: the file concerned, if any.
        old: the recorded digest or value, if any.
        new: the current digest or value, if any.
    """

    kind: str
    message: str
    path: str | None = None
    old: str | None = None
    new: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The reason as JSON-ready data (None fields left out)."""
        data = {"kind": self.kind, "message": self.message}
        for key in ("path", "old", "new"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class RunStarted:
    """A run begins.

    Attributes:
        run_id: the run's id (its record is ``cache/runs/<run_id>.json``).
        names: the tasks of this run, in dependency order.
        jobs: the number of workers.
        dry_run: nothing will execute; tasks are only explained.
    """

    run_id: str
    names: list[str]
    jobs: int
    dry_run: bool = False


@dataclass
class TaskStarted:
    """A task's actions start on a worker.

    Attributes:
        name: the task.
        worker: the worker's number, from 0.
        reasons: why it runs.
    """

    name: str
    worker: int
    reasons: list[Reason]


@dataclass
class TaskResult:
    """A task is done, one way or another.

    Attributes:
        name: the task.
        status: ``ran``, ``cached`` (restored from the output cache), ``up-to-date``,
            ``failed``, ``skipped``, ``cancelled``, ``would-run``.
        reasons: why it ran (or would run).
        output: its captured output.
        error: one line describing a failure or why it was skipped.
        start: wall-clock start (Unix time), if it ran.
        end: wall-clock end (Unix time), if it ran.
        worker: the worker it ran on, if it ran.
        exit_code: the failing command's exit code, if any.
        source: for a cached result, where it came from (``local`` or ``remote`` cache).
    """

    name: str
    status: str
    reasons: list[Reason] = field(default_factory=list)
    output: str = ""
    error: str = ""
    start: float | None = None
    end: float | None = None
    worker: int | None = None
    exit_code: int | None = None
    source: str = ""

    @property
    def duration(self) -> float:
        """Seconds the task's actions took (0 when it did not run)."""
        if self.start is None or self.end is None:
            return 0.0
        return self.end - self.start


@dataclass
class Notice:
    """Something the user should know that is not a task's result (one line)."""

    message: str
    level: str = "warning"


@dataclass
class RunFinished:
    """The run is over.

    Attributes:
        results: every task's result, in the order they finished.
        elapsed: wall seconds of the whole run.
        interrupted: the run was stopped by Ctrl-C or SIGTERM.
        record_path: where the run record was written, if it was.
    """

    results: list[TaskResult]
    elapsed: float
    interrupted: bool = False
    record_path: str | None = None


Event = RunStarted | TaskStarted | TaskResult | Notice | RunFinished
Emit = Callable[[Event], None]
