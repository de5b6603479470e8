"""Plain-line output for pipes, files and CI: no ANSI codes, no redraws, one block per task."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol, TextIO

from conjure.engine.events import (
    CACHED,
    CANCELLED,
    FAILED,
    RAN,
    SKIPPED,
    UP_TO_DATE,
    WOULD_RUN,
    Event,
    Notice,
    RunFinished,
    RunStarted,
    TaskResult,
    TaskStarted,
)
from conjure.engine.statuses import counts_text

_LABEL = {
    RAN: "ok",
    CACHED: "cached",
    UP_TO_DATE: "--",
    FAILED: "FAILED",
    SKIPPED: "skipped",
    CANCELLED: "stopped",
    WOULD_RUN: "would run",
}


class Reporter(Protocol):
    """Receives the engine's events and shows them."""

    def handle(self, event: Event) -> None:
        """Shows one event."""
        ...

    def close(self) -> None:
        """Releases the terminal (stops a live view)."""
        ...


def is_visible(result: TaskResult, hidden: frozenset[str]) -> bool:
    """Group tasks (no actions) and ``_private`` tasks are not listed, as in doit."""
    return result.name not in hidden and not result.name.startswith("_")


def first_reason(result: TaskResult) -> str:
    """The first reason a task ran, for its one-line status."""
    if result.status == CACHED:
        return f"restored from the {result.source} cache"
    return result.reasons[0].message if result.reasons else ""


def replayed(output: str) -> str:
    """A cached task's log, each line marked as a replay: ``cached| ...``."""
    return "".join(f"cached| {line}" for line in output.splitlines(keepends=True))


def counts_line(results: Sequence[TaskResult], elapsed: float, hidden: frozenset[str]) -> str:
    """``3 ran, 12 up to date, 1 failed, 2 skipped in 1.23s``."""
    counts = Counter(r.status for r in results if is_visible(r, hidden))
    return counts_text(counts, elapsed)


class PlainReporter:
    """Plain lines. Verbosity 0: failures only; 1: a line and the output of every task that
    ran; 2: also every up-to-date task.

    Args:
        stream: where to write.
        verbosity: doit's verbosity (0, 1, 2).
        hidden: names of tasks not listed (group tasks).
    """

    def __init__(
        self, stream: TextIO, verbosity: int, hidden: frozenset[str] = frozenset()
    ) -> None:
        self.stream = stream
        self.verbosity = verbosity
        self.hidden = hidden

    def handle(self, event: Event) -> None:
        """Writes the lines for one event."""
        if isinstance(event, TaskResult):
            self._task(event)
        elif isinstance(event, Notice):
            self._write(f"conjure: {event.level}: {event.message}")
        elif isinstance(event, RunFinished):
            self._finished(event)
        elif isinstance(event, (RunStarted, TaskStarted)):
            return

    def _task(self, result: TaskResult) -> None:
        if not is_visible(result, self.hidden):
            return
        if result.status == UP_TO_DATE and self.verbosity < 2:
            return
        if result.status in (RAN, CACHED, WOULD_RUN) and self.verbosity < 1:
            return
        line = f"{_LABEL[result.status]:<7} {result.name}"
        if result.start is not None:
            line += f"  {result.duration:.2f}s"
        detail = result.error or first_reason(result)
        if detail:
            line += f"  ({detail})"
        self._write(line)
        if result.output and result.status == CACHED:
            self.stream.write(_block(replayed(result.output)))
        elif result.output and (result.status != RAN or self.verbosity >= 1):
            self.stream.write(_block(result.output))
        self.stream.flush()

    def _finished(self, event: RunFinished) -> None:
        failed = [r for r in event.results if r.status == FAILED]
        for result in failed:
            self._write(f"\n==== {result.name} failed: {result.error}")
            if result.output:
                self.stream.write(_block(result.output))
        table = [r for r in event.results if is_visible(r, self.hidden) and r.status != UP_TO_DATE]
        if table and self.verbosity >= 1:
            self._write("\nsummary:")
            for r in sorted(table, key=lambda r: (r.status, r.name)):
                duration = f"{r.duration:8.2f}s" if r.start is not None else " " * 9
                self._write(f"  {_LABEL[r.status]:<9} {duration}  {r.name}")
        suffix = " (interrupted)" if event.interrupted else ""
        self._write("conjure: " + counts_line(event.results, event.elapsed, self.hidden) + suffix)
        self.stream.flush()

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")

    def close(self) -> None:
        """Nothing to release."""
        self.stream.flush()


def _block(output: str) -> str:
    return output if output.endswith("\n") else output + "\n"
