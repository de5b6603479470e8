"""Events the engine emits; a reporter turns them into output. The engine never prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conjure.engine.model import Reason

RAN = "ran"
CACHED = "cached"
UP_TO_DATE = "up-to-date"
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"
WOULD_RUN = "would-run"


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
