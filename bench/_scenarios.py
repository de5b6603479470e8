"""The benchmark scenarios. Each one runs plain doit and conjure on identical workspaces.

A failure on one side (typically conjure while its engine is unfinished) becomes an
``ERROR`` row; it never stops the other scenarios.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _graphs import (
    EXEC_LOG,
    SCHED_LOG,
    STATE_FILES,
    TOOLS,
    NoopSpec,
    SleepTask,
    lower_bound,
    schedule_makespan,
    write_noop_workspaces,
    write_sleep_workspace,
)
from _measure import DOIT, PURE_DOIT, Run, ToolError, median_peak, median_wall, run
from _report import ERROR, INFO, Results, Row, fmt, ratio, verdict

Measured = float | str
"""A figure, or the error text that prevented measuring it."""


@dataclass
class NoopPair:
    """The two populated workspaces of a no-op graph.

    Attributes:
        label: Short name used in folder names and rows, e.g. ``noop-2000``.
        spec: The graph shape.
        roots: Workspace folder per tool.
        errors: Per tool, why it cannot be measured (its first run failed).
        first_run: Per tool, wall time of the run that filled the state (or its error).
    """

    label: str
    spec: NoopSpec
    roots: dict[str, Path]
    errors: dict[str, str] = field(default_factory=dict)
    first_run: dict[str, Measured] = field(default_factory=dict)


def make_row(
    scenario: str,
    values: dict[str, Measured],
    goal: str = "",
    ok: Callable[[float, float], bool] | None = None,
    digits: int = 3,
) -> Row:
    """Build a row from one figure per tool.

    Args:
        scenario: Row label.
        values: Figure (or error text) per tool.
        goal: Goal in words; empty for informational rows.
        ok: Goal check, called as ``ok(doit, conjure)``; ``None`` for no check.
        digits: Decimals shown.

    Returns:
        The row; ``ERROR`` when either side has an error.
    """
    doit, conj = values["doit"], values["conjure"]
    cells = {
        t: f"error: {v[:34]}" if isinstance(v, str) else fmt(v, digits) for t, v in values.items()
    }
    if isinstance(doit, str) or isinstance(conj, str):
        return Row(scenario, cells["doit"], cells["conjure"], "", goal, ERROR)
    status = INFO if ok is None else verdict(ok(doit, conj))
    return Row(
        scenario,
        cells["doit"],
        cells["conjure"],
        fmt(ratio(conj, doit), 2),
        goal,
        status,
    )


def executed(root: Path) -> int:
    """Number of task executions logged in a no-op workspace so far."""
    path = root / EXEC_LOG
    return len(path.read_text().splitlines()) if path.exists() else 0


def prepare_noop(base: Path, spec: NoopSpec) -> NoopPair:
    """Generate both workspaces of a no-op graph and run each tool once to fill its state.

    Args:
        base: Scratch folder.
        spec: The graph shape.

    Returns:
        The pair; a tool whose first run failed, or did not run every task, has an error.
    """
    label = f"noop-{spec.tasks}"
    pair = NoopPair(label, spec, {tool: base / f"{label}-{tool}" for tool in TOOLS})
    write_noop_workspaces(pair.roots, spec)
    for tool, root in pair.roots.items():
        try:
            pair.first_run[tool] = _first_run(root, tool, spec.tasks)
        except ToolError as exc:
            pair.errors[tool] = pair.first_run[tool] = f"1st run: {exc}"
    os.sync()  # let the written files reach the disk now, not during timed runs
    _settle(pair)
    return pair


def _settle(pair: NoopPair) -> None:
    """One untimed run per tool once every file is older than conjure's racy window (2 s).

    A developer's no-op comes a while after the files were written; right after, conjure
    re-hashes files whose mtime is too recent to trust (as git does), which is not what the
    no-op figure is meant to show. Both tools get the same warm-up run.
    """
    time.sleep(2.1)
    for tool, root in pair.roots.items():
        if tool not in pair.errors:
            try:
                run([DOIT], root)
            except ToolError as exc:
                pair.errors[tool] = f"warm-up: {exc}"


def _first_run(root: Path, tool: str, tasks: int) -> float:
    wall = run([DOIT], root).wall
    check_state(root, tool)
    if (count := executed(root)) != tasks:
        raise ToolError(f"executed {count}/{tasks} tasks")
    return wall


def check_state(root: Path, tool: str) -> None:
    """Make sure ``tool`` wrote its state file, i.e. its configuration took effect.

    Args:
        root: The workspace, after at least one run.
        tool: ``"doit"`` or ``"conjure"``.

    Raises:
        ToolError: The state file is missing.
    """
    if not (root / STATE_FILES[tool]).exists():
        raise ToolError(f"engine not active: no {STATE_FILES[tool]}")


PURE = "doit-pure"
"""Key of plain doit with plug-in discovery off (see ``_measure.PURE_DOIT``)."""
STARTUP = "start-up"
"""Key of the fixed start-up, timed between the tools' runs."""
STARTUP_CMD = [sys.executable, "-c", "import doit.doit_cmd"]


def _contenders(pair: NoopPair, pure: bool, startup: bool) -> dict[str, tuple[list[str], Path]]:
    commands = {tool: ([DOIT], pair.roots[tool]) for tool in TOOLS if tool not in pair.errors}
    if pure and "doit" in commands:
        commands[PURE] = (PURE_DOIT, pair.roots["doit"])
    if startup:
        commands[STARTUP] = (STARTUP_CMD, next(iter(pair.roots.values())))
    return commands


def _noop_runs(
    pair: NoopPair, reps: int, pure: bool = False, startup: bool = False
) -> dict[str, list[Run] | str]:
    """Run every tool's no-op ``reps`` times, alternating tools so load changes hit all.

    Args:
        pair: Populated workspaces.
        reps: Runs per tool.
        pure: Also run plain doit with plug-in discovery off, under the key ``PURE``.
        startup: Also run ``python -c "import doit.doit_cmd"``, under the key ``STARTUP``.

    Returns:
        Per tool, its runs, or the error text (failed run, or a "no-op" that ran tasks).
    """
    results: dict[str, list[Run] | str] = dict(pair.errors)
    live = _contenders(pair, pure, startup)
    before = {key: executed(root) for key, (_, root) in live.items()}
    runs: dict[str, list[Run]] = {key: [] for key in live}
    for _ in range(max(1, reps)):
        for key, (cmd, root) in list(live.items()):
            try:
                runs[key].append(run(cmd, root))
            except ToolError as exc:
                results[key] = str(exc)
                del live[key]
    for key, (_, root) in live.items():
        ran = executed(root) - before[key]
        results[key] = f"the no-op runs executed {ran} tasks" if ran else runs[key]
    return results


def noop_scenario(
    pair: NoopPair, reps: int, startup: float, goal: float, out: Results, pure: bool = True
) -> None:
    """Time the nothing-to-do run of both tools and add the wall, start-up and memory rows.

    Args:
        pair: Populated workspaces.
        reps: Number of timed runs per tool (the median is reported).
        startup: Fixed start-up cost in seconds (``import doit.doit_cmd``), measured at the
            start; the "beyond start-up" row uses the same command timed between the
            tools' runs instead, so that it sees the same machine load.
        goal: Largest acceptable conjure/doit wall-time ratio.
        out: Where rows and raw figures go.
        pure: Also time plain doit with plug-in discovery off (an informational row).
    """
    wall: dict[str, Measured] = {}
    beyond: dict[str, Measured] = {}
    peak: dict[str, Measured] = {}
    results = _noop_runs(pair, reps, pure=pure, startup=True)
    interleaved = results.pop(STARTUP, "")
    if not isinstance(interleaved, str):
        startup = median_wall(interleaved)
    for tool, runs in results.items():
        if isinstance(runs, str):
            wall[tool] = beyond[tool] = peak[tool] = runs
            continue
        wall[tool] = median = median_wall(runs)
        beyond[tool] = median - startup
        peak[tool] = median_peak(runs)
    name = f"{pair.label} x{pair.spec.deps} deps"
    pure_wall = wall.pop(PURE, "not run")
    out.rows += [
        make_row(
            f"{name}: wall s (median of {reps})",
            wall,
            f"ratio <= {goal}",
            lambda d, c: c <= goal * d,
        ),
        make_row(f"{name}: wall beyond start-up s", beyond),
    ]
    if pure:
        text = fmt(pure_wall) if isinstance(pure_wall, float) else pure_wall[:40]
        out.rows.append(Row(f"{name}: doit, plug-ins off, wall s", text, "-"))
    out.rows += [
        make_row(f"{name}: first run (fills state) s", pair.first_run, digits=2),
        make_row(f"{name}: peak RSS MB", peak, "conjure <= 300 MB", lambda d, c: c <= 300, 0),
    ]
    out.raw[pair.label] = {
        "wall_s": wall,
        "beyond_startup_s": beyond,
        "peak_mb": peak,
        "startup_s": startup,
        "first_run_s": pair.first_run,
        "doit_plugins_off_wall_s": pure_wall,
        "reps": reps,
    }


def _touch_sources(root: Path, stamp: float) -> None:
    for path in (root / "src").rglob("*.txt"):
        os.utime(path, (stamp, stamp))


def _run_after_touch(pair: NoopPair, tool: str) -> tuple[float, float]:
    if tool in pair.errors:
        raise ToolError(pair.errors[tool])
    root = pair.roots[tool]
    before = executed(root)
    wall = run([DOIT], root).wall
    return float(executed(root) - before), wall


def _relative(
    later: dict[str, list[Run] | str], normal: dict[str, list[Run] | str]
) -> dict[str, Measured]:
    """Per tool, median wall of ``later`` over median wall of ``normal`` (or an error)."""
    result: dict[str, Measured] = {}
    for tool in TOOLS:
        top, bottom = later[tool], normal[tool]
        if isinstance(bottom, str) or isinstance(top, str):
            result[tool] = bottom if isinstance(bottom, str) else str(top)
        else:
            result[tool] = median_wall(top) / median_wall(bottom)
    return result


def touch_scenario(pair: NoopPair, reps: int, out: Results) -> None:
    """Give every source file a new mtime (same content) and see what each tool does.

    First times the normal no-op again (right before the touch, so both figures see the
    same machine load), then touches, runs each tool once (conjure must run no task), and
    times the no-op after that relative to the normal one: plain doit never stores the new
    mtimes of tasks it did not run, so it re-hashes every file on every later run.

    Args:
        pair: Populated workspaces.
        reps: Number of no-op runs per tool before and after (medians are used).
        out: Where rows and raw figures go.
    """
    normal = _noop_runs(pair, reps)
    stamp = time.time()
    for root in pair.roots.values():
        _touch_sources(root, stamp)
    os.sync()  # 20,000 dirty inodes: their writeback would land in some tool's timed runs
    count: dict[str, Measured] = {}
    first: dict[str, Measured] = {}
    for tool in TOOLS:
        try:
            count[tool], first[tool] = _run_after_touch(pair, tool)
        except ToolError as exc:
            count[tool] = first[tool] = pair.errors[tool] = str(exc)
    os.sync()  # what those runs wrote (state, records), before the timed runs
    later = _relative(_noop_runs(pair, reps), normal)
    name = f"touch {pair.spec.tasks}"
    out.rows += [
        make_row(
            f"{name}: tasks run after touch",
            count,
            "conjure = 0",
            lambda d, c: c == 0,
            0,
        ),
        make_row(f"{name}: that run, wall s", first),
        make_row(
            f"{name}: next no-op / normal no-op",
            later,
            "conjure <= 1.1x",
            lambda d, c: c <= 1.1,
            2,
        ),
    ]
    out.raw[f"touch-{pair.spec.tasks}"] = {
        "tasks_run": count,
        "first_wall_s": first,
        "later_over_normal": later,
    }


def _sleep_command(tool: str, workers: int) -> list[str]:
    extra = ["-P", "thread"] if tool == "doit" else []
    return [DOIT, "-n", str(workers), *extra]


def _time_sleep_graph(
    root: Path, tool: str, tasks: int, reps: int, workers: int
) -> tuple[float, float]:
    cmd = _sleep_command(tool, workers)
    if tool == "conjure":
        run(cmd, root)  # records the task durations conjure schedules by
        check_state(root, tool)
    spans, walls = [], []
    for _ in range(max(1, reps)):
        (root / SCHED_LOG).unlink(missing_ok=True)
        walls.append(run(cmd, root).wall)
        span, finished = schedule_makespan(root)
        if finished != tasks:
            raise ToolError(f"ran {finished}/{tasks} tasks")
        spans.append(span)
    return statistics.median(spans), statistics.median(walls)


def sleep_scenario(
    base: Path,
    label: str,
    tasks: list[SleepTask],
    reps: int,
    out: Results,
    workers: int = 2,
) -> None:
    """Time a graph of sleep tasks on ``workers`` workers against the makespan lower bound.

    The makespan is read from the tasks' own start/end stamps (first start to last end),
    so interpreter start-up and graph loading are not part of it; the process wall time is
    shown on a separate row.

    Args:
        base: Scratch folder.
        label: Scenario name.
        tasks: The graph, in definition order.
        reps: Timed runs per tool (the median is reported); conjure gets one more, untimed,
            run first to record task durations.
        out: Where rows and raw figures go.
        workers: Parallel workers given to both tools.
    """
    bound, critical, work = lower_bound(tasks, workers)
    spans: dict[str, Measured] = {}
    walls: dict[str, Measured] = {}
    for tool in TOOLS:
        root = base / f"{label}-{tool}"
        write_sleep_workspace(root, tool, tasks)
        try:
            span, walls[tool] = _time_sleep_graph(root, tool, len(tasks), reps, workers)
            spans[tool] = span / bound
        except ToolError as exc:
            spans[tool] = walls[tool] = str(exc)
    out.rows += [
        make_row(
            f"{label}: makespan / bound {bound:.2f} s",
            spans,
            "conjure <= 1.15 (doit ~1.45)",
            lambda d, c: c <= 1.15,
            2,
        ),
        make_row(f"{label}: process wall s", walls, digits=2),
    ]
    out.raw[label] = {
        "bound_s": bound,
        "critical_path_s": critical,
        "total_work_s": work,
        "workers": workers,
        "makespan_over_bound": spans,
        "wall_s": walls,
    }
