"""Output cache benchmark: a fresh clone with ``cache/`` copied in, against its baselines.

Run from the repository root::

    uv run python bench/cache.py            # full run: 5 repetitions, about 1.5-2 minutes
    uv run python bench/cache.py --quick    # 3 repetitions, about 1-1.5 minutes
    uv run python bench/cache.py --json results.json

1. **Restore vs cp -r**: 100 tasks writing 200 MiB of random bytes run once in a git
   repository; each repetition clones it, copies ``cache/`` in and times ``doit`` there
   (everything restored), side by side with ``cp -r`` of the same output files into a new
   folder, twice: with the files read in the page cache (``hot``: the goal is judged on
   this one) and evicted from it (``cold``, per file with ``posix_fadvise``); then
   conjure's no-op of the same graph, subtracted in the "minus its no-op" rows.
2. **Fresh clone, 2,000-task no-op graph**: the same for bench/engine.py's no-op graph
   (file_deps, no targets: up to date through the state, every file re-hashed once), timed
   against conjure's ordinary no-op in the original folder, plus the next run in the clone.

Every repetition checks that no action ran, and (1) that every restored file is
byte-identical. Both sides of a comparison read their files under the same page-cache
condition, prepared just before the timed step; dirty pages are flushed (``sync``) before
each timed step. See the "Output cache" section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _cache_graphs import (
    OutputSpec,
    digests,
    evict,
    fresh_clone,
    git_commit_all,
    remove,
    settle,
    warm,
    write_output_workspace,
)
from _graphs import EXEC_LOG, STATE_FILES, NoopSpec, write_noop_workspaces
from _measure import DOIT, Run, ToolError, run, startup_seconds
from _report import (
    ERROR,
    INFO,
    Progress,
    Results,
    Row,
    bench_args,
    fmt,
    format_table,
    machine,
    ratio,
    verdict,
    write_json,
)

RESTORE_GOAL = 1.5
"""Largest acceptable restore / ``cp -r`` wall-time ratio."""
OVERHEAD_GOAL_MS = 10.0
"""Largest acceptable overhead per cached task, in milliseconds."""
CLONE_GOAL = 2.0
"""Largest acceptable first-run-in-a-fresh-clone / ordinary no-op ratio."""

_COUNT = re.compile(r"(\d+) (ran|cached|up to date|failed)")


@dataclass(frozen=True)
class Plan:
    """How much work one benchmark run does.

    Attributes:
        reps: Repetitions of every timed step (medians are reported).
        startup_reps: Runs of ``python -c "import doit.doit_cmd"``.
    """

    reps: int
    startup_reps: int


FULL = Plan(reps=5, startup_reps=9)
QUICK = Plan(reps=3, startup_reps=5)


def compare(
    scenario: str, baseline: float, value: float, goal: str = "", limit: float | None = None
) -> Row:
    """A row ``value`` vs ``baseline`` with their ratio; pass when the ratio is <= ``limit``."""
    share = ratio(value, baseline)
    status = INFO if limit is None or share is None else verdict(share <= limit)
    return Row(scenario, fmt(baseline), fmt(value), fmt(share, 2), goal, status)


def error_rows(label: str, exc: Exception) -> list[Row]:
    """The row that replaces a scenario whose setup or checks failed."""
    return [Row(f"{label}: not measured", "", f"error: {str(exc)[:60]}", "", "", ERROR)]


def counts(run_: Run) -> dict[str, int]:
    """Parse conjure's summary line (``conjure: 0 ran, 100 cached, 0 failed in 1.2s``)."""
    lines = [line for line in run_.output.splitlines() if line.startswith("conjure:")]
    if not lines:
        raise ToolError(f"no summary line in the output: {run_.output[-120:]!r}")
    return {kind: int(number) for number, kind in _COUNT.findall(lines[-1])}


def expect(run_: Run, **wanted: int) -> Run:
    """Check a run's summary counts (e.g. ``ran=0, cached=100``); return the run.

    Raises:
        ToolError: a count differs.
    """
    found = counts(run_)
    for kind, number in wanted.items():
        key = kind.replace("_", " ")
        if found.get(key, 0) != number:
            raise ToolError(f"expected {number} {key}, summary says {found}")
    return run_


def paired_ratios(top: list[float], bottom: list[float]) -> list[float]:
    """Per repetition ``top / bottom``: both taken back to back, so a load change hits both."""
    return [t / b for t, b in zip(top, bottom, strict=True) if b > 0]


def log_lines(path: Path) -> int:
    """Number of lines in an action log (0 when missing)."""
    return len(path.read_text().splitlines()) if path.exists() else 0


# 1. restore vs cp -r ------------------------------------------------------------------------


PAGE_CACHE = ("hot", "cold")
"""The two page-cache conditions of the restore scenario: the files read (the clone's blobs,
the original outputs) are in memory, or were just evicted. The goal is judged on ``hot``."""


@dataclass
class RestoreRuns:
    """Wall times of the restore scenario, one per repetition (seconds).

    ``restore``/``copy`` hold one list per page-cache condition (``hot``, ``cold``).
    """

    restore: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in PAGE_CACHE})
    copy: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in PAGE_CACHE})
    noop: list[float] = field(default_factory=list)
    clone_next: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    files_checked: int = 0


def prepare_restore(base: Path, spec: OutputSpec, log: Path) -> Path:
    """Create, commit and run the restore workspace once (fills ``cache/``).

    Raises:
        ToolError: the first run failed or did not run every task.
    """
    origin = base / "restore-origin"
    write_output_workspace(origin, spec, log)
    git_commit_all(origin)
    expect(run([DOIT], origin), ran=spec.tasks)
    if log_lines(log) != spec.tasks or not (origin / STATE_FILES["conjure"]).exists():
        raise ToolError(f"first run: {log_lines(log)}/{spec.tasks} actions logged")
    settle()
    return origin


def prime(cache_state: str, *folders: Path) -> None:
    """Put ``folders`` in the page cache (``hot``) or out of it (``cold``), then flush."""
    if cache_state == "hot":
        warm(*folders)
        settle()
    else:
        evict(*folders)


def time_restore(
    origin: Path, clone: Path, spec: OutputSpec, log: Path, cache_state: str
) -> tuple[Run, Run | None]:
    """Clone, copy ``cache/`` in, time the restoring run (and, hot, the no-op after it).

    Raises:
        ToolError: an action ran or the summary does not say ``100 cached``.
    """
    fresh_clone(origin, clone)
    prime(cache_state, clone / "cache" / "cas")
    before = log_lines(log)
    restored = expect(run([DOIT], clone), ran=0, cached=spec.tasks)
    after = None
    if cache_state == "hot":
        settle()
        after = expect(run([DOIT], clone), ran=0, up_to_date=spec.tasks)
    if log_lines(log) != before:
        raise ToolError(f"{log_lines(log) - before} actions ran in the fresh clone")
    return restored, after


def time_copy(origin: Path, dest: Path, cache_state: str) -> float:
    """Time ``cp -r`` of the origin's output files into a new folder."""
    prime(cache_state, origin / "out")
    return run(["cp", "-r", str(origin / "out"), str(dest)], origin.parent).wall


def restore_rep(
    origin: Path,
    spec: OutputSpec,
    log: Path,
    expected: dict[str, tuple[str, int]],
    out: RestoreRuns,
) -> None:
    """One repetition: per page-cache condition a restore and a ``cp -r`` (in alternating
    order), then the origin's no-op; every restore is checked file by file.

    Nothing is deleted until the scenario ends (see ``restore_scenario``).
    """
    rep = len(out.noop)
    out.load.append(os.getloadavg()[0])
    for cache_state in PAGE_CACHE:
        clone = origin.parent / f"restore-clone-{rep}-{cache_state}"
        dest = origin.parent / f"cp-{rep}-{cache_state}"

        def restore(state: str = cache_state, clone: Path = clone) -> None:
            restored, after = time_restore(origin, clone, spec, log, state)
            out.restore[state].append(restored.wall)
            if after is not None:
                out.clone_next.append(after.wall)

        def copy(state: str = cache_state, dest: Path = dest) -> None:
            out.copy[state].append(time_copy(origin, dest, state))

        for step in (restore, copy) if rep % 2 == 0 else (copy, restore):
            step()
            settle()
        if digests(clone / "out") != expected:
            raise ToolError(f"restored outputs ({cache_state}) differ from the originals")
        out.files_checked += len(expected)
    out.noop.append(expect(run([DOIT], origin), ran=0).wall)


def condition_rows(spec: OutputSpec, runs: RestoreRuns, cache_state: str) -> list[Row]:
    """Rows of one page-cache condition: the whole run, minus the no-op, per task."""
    restore = statistics.median(runs.restore[cache_state])
    copy = statistics.median(runs.copy[cache_state])
    noop = statistics.median(runs.noop)
    overhead_ms = (restore - copy - noop) / spec.tasks * 1000
    judged = cache_state == "hot"  # the goals are judged on the hot page cache
    size = f"{spec.tasks} tasks/{spec.total_bytes / 2**20:.0f} MiB"
    return [
        compare(
            f"restore {size}, {cache_state}: cp -r | whole doit run s",
            copy,
            restore,
            f"<= {RESTORE_GOAL}x cp -r" if judged else "",
            RESTORE_GOAL if judged else None,
        ),
        compare(f"restore {cache_state}: cp -r | doit minus its no-op s", copy, restore - noop),
        Row(
            f"restore {cache_state}: overhead per cached task, ms",
            "",
            fmt(overhead_ms, 1),
            "",
            f"<= {OVERHEAD_GOAL_MS:.0f} ms" if judged else "",
            verdict(overhead_ms <= OVERHEAD_GOAL_MS) if judged else INFO,
        ),
    ]


def restore_rows(spec: OutputSpec, runs: RestoreRuns) -> list[Row]:
    """Table rows of the restore scenario from its medians."""
    noop = statistics.median(runs.noop)
    return [
        *(row for state in PAGE_CACHE for row in condition_rows(spec, runs, state)),
        compare(
            "restore: no-op in origin | next run in clone s",
            noop,
            statistics.median(runs.clone_next),
        ),
        Row(
            "restore: actions run / files identical",
            "",
            f"0 / {runs.files_checked}",
            "",
            "0 / all",
            verdict(True),
        ),
    ]


def restore_scenario(base: Path, spec: OutputSpec, reps: int, out: Results, log: Callable) -> None:
    """Scenario 1: restoring 200 MiB of outputs into a fresh clone vs ``cp -r``.

    The clones and copies are deleted only at the end (about 600 MiB per repetition and
    condition): on an ext4 without a journal, as here, creating a file skips over every
    inode of its group freed in the last minutes, so deleting the previous repetition's
    files would make the next timed step pay for them, whichever ran second most.
    """
    actions = base / "restore-actions.log"
    runs = RestoreRuns()
    try:
        log(f"restore: generating {spec.total_bytes / 2**20:.0f} MiB of outputs (first run)")
        origin = prepare_restore(base, spec, actions)
        expected = digests(origin / "out")
        for rep in range(reps):
            log(f"restore: repetition {rep + 1}/{reps} (1-min load {os.getloadavg()[0]:.1f})")
            restore_rep(origin, spec, actions, expected, runs)
    except (ToolError, OSError) as exc:
        out.rows += error_rows("restore", exc)
        out.raw["restore"] = {"error": str(exc), **asdict(runs)}
        return
    finally:
        remove(*base.glob("restore-clone-*"), *base.glob("cp-*"))
    out.rows += restore_rows(spec, runs)
    paired = {c: paired_ratios(runs.restore[c], runs.copy[c]) for c in PAGE_CACHE}
    out.raw["restore"] = {"spec": asdict(spec), "reps": reps, **asdict(runs), "paired": paired}


# 2. fresh clone of the 2,000-task no-op graph ------------------------------------------------


@dataclass
class CloneRuns:
    """Wall times of the fresh-clone scenario, one per repetition (seconds)."""

    noop: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    next: list[float] = field(default_factory=list)


def prepare_clone_origin(base: Path, spec: NoopSpec) -> Path:
    """Generate, commit and run the no-op workspace once (fills the state in ``cache/``)."""
    origin = base / "noop-origin"
    write_noop_workspaces({"conjure": origin}, spec)
    git_commit_all(origin, ignore=f"cache/\n{EXEC_LOG}\n")
    expect(run([DOIT], origin), ran=spec.tasks)
    if log_lines(origin / EXEC_LOG) != spec.tasks:
        raise ToolError(f"first run: {log_lines(origin / EXEC_LOG)}/{spec.tasks} actions")
    settle()
    return origin


def clone_rep(origin: Path, spec: NoopSpec, out: CloneRuns) -> None:
    """One repetition: fresh clone + ``cache/``, its first and next run, the origin's no-op."""
    rep = len(out.first)
    clone = origin.parent / f"noop-clone-{rep}"
    fresh_clone(origin, clone)
    settle()
    warm(clone / "src", origin / "src")

    def ordinary() -> None:
        out.noop.append(expect(run([DOIT], origin), ran=0, up_to_date=spec.tasks).wall)

    if rep % 2 == 0:
        ordinary()
    out.first.append(expect(run([DOIT], clone), ran=0, up_to_date=spec.tasks).wall)
    settle()
    out.next.append(expect(run([DOIT], clone), ran=0, up_to_date=spec.tasks).wall)
    if rep % 2 == 1:
        ordinary()
    if (ran := log_lines(clone / EXEC_LOG)) != 0:
        raise ToolError(f"{ran} actions ran in the fresh clone")
    remove(clone)


def clone_rows(spec: NoopSpec, runs: CloneRuns, reps: int) -> list[Row]:
    """Table rows of the fresh-clone scenario from its medians."""
    noop = statistics.median(runs.noop)
    name = f"clone {spec.tasks:,} tasks"
    return [
        compare(
            f"{name}: no-op | 1st run in clone s, median of {reps}",
            noop,
            statistics.median(runs.first),
            f"<= {CLONE_GOAL}x no-op",
            CLONE_GOAL,
        ),
        compare(f"{name}: no-op | next run in clone s", noop, statistics.median(runs.next)),
        Row(f"{name}: actions run in the clone", "", "0", "", "0", verdict(True)),
    ]


def clone_scenario(base: Path, spec: NoopSpec, reps: int, out: Results, log: Callable) -> None:
    """Scenario 2: the 2,000-task no-op graph in a fresh clone with ``cache/`` copied in."""
    runs = CloneRuns()
    try:
        log(f"fresh clone: generating {spec.files:,} files, committing, first run")
        origin = prepare_clone_origin(base, spec)
        for rep in range(reps):
            log(f"fresh clone: repetition {rep + 1}/{reps}")
            clone_rep(origin, spec, runs)
    except (ToolError, OSError) as exc:
        out.rows += error_rows("fresh clone", exc)
        out.raw["fresh_clone"] = {"error": str(exc), **asdict(runs)}
        return
    out.rows += clone_rows(spec, runs, reps)
    paired = paired_ratios(runs.first, runs.noop)
    out.raw["fresh_clone"] = {"spec": asdict(spec), "reps": reps, **asdict(runs), "paired": paired}


# report and entry point ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios, print the table, optionally write JSON.

    Returns:
        0; failures are rows in the table, not exit codes.
    """
    args = bench_args(__doc__, argv, "3 repetitions instead of 5")
    plan = QUICK if args.quick else FULL
    os.environ["CI"] = "true"  # plain output; inherited by every child through child_env()
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    log = Progress()
    out = Results()
    base = Path(tempfile.mkdtemp(prefix="conjure-bench-cache-"))
    try:
        startup = startup_seconds(plan.startup_reps)
        log(f"fixed start-up (python -c 'import doit.doit_cmd'): {startup:.3f} s")
        restore_scenario(base, OutputSpec(), plan.reps, out, log)
        clone_scenario(base, NoopSpec(tasks=2_000), plan.reps, out, log)
    finally:
        if args.keep:
            log(f"workspaces kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    out.raw["startup_s"] = startup
    out.raw["load_average_1min"] = [load_start, os.getloadavg()[0]]
    info = machine()
    print(
        f"machine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}; "
        f"1-min load {load_start:.1f} -> {os.getloadavg()[0]:.1f}; start-up {startup:.3f} s; "
        f"{'quick' if args.quick else 'full'} run, {time.perf_counter() - start:.0f} s"
    )
    print(format_table(out.rows, baseline="baseline", width=60))
    if args.json:
        write_json(args.json, out.rows, out.raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
