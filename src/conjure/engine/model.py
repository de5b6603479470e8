"""The engine's view of a task, and the values that flow through a run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from conjure.engine.events import Reason

if TYPE_CHECKING:  # annotations only: keeps the import light
    from conjure.engine.graph import NodeSpec
    from conjure.engine.state import TaskRecord


class Cancel:
    """A cancellation token shared by a task's worker and the scheduler.

    Attributes:
        reason: why the task was cancelled (``timeout``, ``interrupted``, ``fail-fast``).
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""
        self._on_cancel: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self, reason: str) -> None:
        """Asks the task to stop; runs the registered stop callbacks once."""
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            callbacks = list(self._on_cancel)
        for callback in callbacks:
            callback()

    @property
    def cancelled(self) -> bool:
        """Whether the task was asked to stop."""
        return self._event.is_set()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Registers a stop callback; it runs at once if already cancelled.

        Returns:
            A function that unregisters it.
        """
        with self._lock:
            already = self._event.is_set()
            if not already:
                self._on_cancel.append(callback)
        if already:
            callback()

        def remove() -> None:
            with self._lock:
                if callback in self._on_cancel:
                    self._on_cancel.remove(callback)

        return remove


@dataclass
class Outcome:
    """What running a task's actions produced.

    Attributes:
        ok: whether every action succeeded.
        output: the captured output, stdout and stderr in arrival order.
        error: a one-line failure description when not ok.
        exit_code: the failing command's exit code, if a command failed.
        values: values saved by Python actions (doit's ``getargs``).
        result: the last action's result text (doit's ``result_dep``), if any.
        cached: ``local`` or ``remote`` when the outputs were restored from the cache instead
            of running the actions; "" when they ran.
        duration: for a cached outcome, how long the task took when it really ran.
        notes: warnings for the user (a damaged cache entry, a failed upload).
        files: for a cached outcome, the digests of the files it restored (not hashed again).
    """

    ok: bool
    output: str = ""
    error: str = ""
    exit_code: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    result: str | None = None
    cached: str = ""
    duration: float | None = None
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


class Work(Protocol):
    """A task as the engine runs it; the doit glue provides the implementation.

    Attributes:
        is_finally: a *finally* task: it starts once each of its dependencies has finished
            in any way (failed and skipped included), also after a fail-fast stop, and
            fail-fast does not cancel it (the scheduler's module doc has the rules).
    """

    name: str
    spec: NodeSpec
    pool: str | None
    timeout: float | None
    always_runs: bool
    cacheable: bool
    is_finally: bool

    @property
    def uses_python(self) -> bool:
        """Whether an action is Python code."""
        ...

    def tools(self) -> list[str]:
        """The toolchains its commands use (their versions are part of its key)."""
        ...

    def definition_digest(self) -> str:
        """The digest of the task's definition (actions, declared env, params)."""
        ...

    def definition_json(self) -> str:
        """The task's definition as canonical JSON parts, for explaining a change."""
        ...

    def uptodate_reasons(self, record: TaskRecord | None) -> list[Reason]:
        """Evaluates the task's ``uptodate`` items; a reason for each that says stale."""
        ...

    def execute(
        self, changed: list[str], cancel: Cancel, upstream: Mapping[str, str] | None = None
    ) -> Outcome:
        """Runs the task's actions in the calling (worker) thread.

        Args:
            changed: the file dependencies that changed.
            cancel: set when the task must stop.
            upstream: for a finally task, the status each of its dependencies ended with
                (``ran``, ``cached``, ``up-to-date``, ``failed``, ``cancelled``,
                ``skipped``); None for other tasks.
        """
        ...

    def teardown(self) -> Outcome:
        """Runs the task's teardown actions (after the whole run)."""
        ...
