"""The rich live view for an interactive terminal.

While tasks run: a progress bar (N of M done) and the running tasks with their elapsed
time. Each finished task's output is printed above the live area as one block, so output
never interleaves. At the end: failures in full and a summary table.
"""

from __future__ import annotations

import time
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

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
from conjure.report.plain import counts_line, first_reason, is_visible

_STYLE = {
    RAN: ("✓", "green"),
    CACHED: ("↺", "blue"),
    UP_TO_DATE: ("·", "dim"),
    FAILED: ("✗", "bold red"),
    SKIPPED: ("↷", "yellow"),
    CANCELLED: ("■", "yellow"),
    WOULD_RUN: ("→", "cyan"),
}


class LiveReporter:
    """Rich output with a live progress area.

    Args:
        stream: the terminal.
        verbosity: 0 shows failures only, 1 every task that ran, 2 also up-to-date tasks.
        hidden: group tasks, not listed.
    """

    def __init__(
        self, stream: TextIO, verbosity: int, hidden: frozenset[str] = frozenset()
    ) -> None:
        self.console = Console(file=stream, highlight=False)
        self.verbosity = verbosity
        self.hidden = hidden
        self.progress = Progress(
            TextColumn("[bold]conjure"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.bar = self.progress.add_task("tasks", total=None)
        self.running: dict[str, float] = {}
        self.live = Live(
            self._render(),
            console=self.console,
            refresh_per_second=8,
            transient=True,
            get_renderable=self._render,
        )
        self.live.start()

    def _render(self) -> Group:
        now = time.monotonic()
        lines = [
            Text.assemble(("  ▸ ", "cyan"), (name, "bold"), (f"  {now - start:5.1f}s", "dim"))
            for name, start in sorted(self.running.items(), key=lambda item: item[1])
        ]
        return Group(self.progress, *lines)

    def handle(self, event: Event) -> None:
        """Shows one event."""
        if isinstance(event, RunStarted):
            visible = [n for n in event.names if n not in self.hidden and not n.startswith("_")]
            self.progress.update(self.bar, total=len(visible))
        elif isinstance(event, TaskStarted):
            self.running[event.name] = time.monotonic()
        elif isinstance(event, TaskResult):
            self._task(event)
        elif isinstance(event, Notice):
            self.console.print(f"[yellow]conjure: {event.level}:[/] {escape(event.message)}")
        elif isinstance(event, RunFinished):
            self._finished(event)

    def _task(self, result: TaskResult) -> None:
        self.running.pop(result.name, None)
        if not is_visible(result, self.hidden):
            return
        self.progress.advance(self.bar)
        if result.status == UP_TO_DATE and self.verbosity < 2:
            return
        if result.status in (RAN, CACHED, WOULD_RUN) and self.verbosity < 1:
            return
        mark, style = _STYLE[result.status]
        line = Text.assemble((f"{mark} ", style), (result.name, "bold"))
        if result.start is not None:
            line.append(f"  {result.duration:.2f}s", "dim")
        detail = result.error or first_reason(result)
        if detail:
            line.append(f"  {detail}", "red" if result.status == FAILED else "dim")
        self.console.print(line)
        if result.output and result.status in (RAN, WOULD_RUN) and self.verbosity >= 1:
            self.console.print(Text(result.output.rstrip("\n")), style="default")
        elif result.output and result.status == CACHED and self.verbosity >= 1:
            self.console.print(Text(result.output.rstrip("\n"), style="dim"))

    def _finished(self, event: RunFinished) -> None:
        self.close()
        for result in (r for r in event.results if r.status == FAILED):
            body = Text(result.output.rstrip("\n") or "(no output)")
            title = f"[bold red]{escape(result.name)}[/] failed: {escape(result.error)}"
            self.console.print(Panel(body, title=title, title_align="left", border_style="red"))
        shown = [r for r in event.results if is_visible(r, self.hidden) and r.status != UP_TO_DATE]
        if shown and self.verbosity >= 1:
            table = Table(show_edge=False, box=None, padding=(0, 2))
            table.add_column("task")
            table.add_column("status")
            table.add_column("duration", justify="right")
            for r in sorted(shown, key=lambda r: r.start or 0):
                mark, style = _STYLE[r.status]
                duration = f"{r.duration:.2f}s" if r.start is not None else ""
                table.add_row(r.name, Text(f"{mark} {r.status}", style), duration)
            self.console.print(table)
        style = "bold red" if any(r.status == FAILED for r in event.results) else "bold green"
        summary = counts_line(event.results, event.elapsed, self.hidden)
        if event.interrupted:
            summary += " (interrupted)"
        self.console.print(Text("conjure: " + summary, style))

    def close(self) -> None:
        """Stops the live area."""
        if self.live.is_started:
            self.live.stop()
