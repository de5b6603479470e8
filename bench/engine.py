"""Side-by-side benchmarks of plain doit and conjure on identical generated workspaces.

Run from the repository root::

    uv run python bench/engine.py            # full run, about 6 minutes on 2 cores
    uv run python bench/engine.py --quick    # fewer repetitions, about 2 minutes
    uv run python bench/engine.py --json results.json

Both tools run with the same ``doit`` executable from this interpreter's venv, output to a
pipe. Plain doit uses the sqlite3 backend and the MD5 checker; conjure is enabled by
``DOIT_CONFIG = conjure.config()``. See docs/benchmarks.md for what each scenario means.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _graphs import NoopSpec, critical_last_graph, random_dag
from _measure import startup_seconds
from _report import Progress, Results, bench_args, format_table, machine, write_json
from _scenarios import (
    noop_scenario,
    prepare_noop,
    sleep_scenario,
    touch_scenario,
)


@dataclass(frozen=True)
class Plan:
    """How much work one benchmark run does.

    Attributes:
        noop_reps: Timed no-op runs per tool and graph.
        startup_reps: Runs of ``python -c "import doit.doit_cmd"``.
        big_tasks: Task count of the large no-op graph.
        sleep_reps: Timed runs per tool for each sleep graph.
        pure_doit: Also time plain doit with plug-in discovery off in the no-op scenarios.
    """

    noop_reps: int
    startup_reps: int
    big_tasks: int
    sleep_reps: int
    pure_doit: bool


FULL = Plan(noop_reps=5, startup_reps=9, big_tasks=10_000, sleep_reps=3, pure_doit=True)
QUICK = Plan(noop_reps=3, startup_reps=7, big_tasks=10_000, sleep_reps=1, pure_doit=False)


def run_noop_scenarios(base: Path, plan: Plan, startup: float, out: Results, log: Progress) -> None:
    """Scenarios 1-3: small no-op, touch-everything on the same graph, large no-op."""
    log("no-op 2,000 tasks: generating 2 x 10,000 files and filling state")
    small = prepare_noop(base, NoopSpec(tasks=2_000))
    log("no-op 2,000 tasks: timing")
    noop_scenario(small, plan.noop_reps, startup, 0.5, out, plan.pure_doit)
    log("touch everything (2,000 tasks)")
    touch_scenario(small, plan.noop_reps, out)
    n = plan.big_tasks
    log(f"no-op {n:,} tasks: generating 2 x {5 * n:,} files and filling state")
    big = prepare_noop(base, NoopSpec(tasks=n))
    log(f"no-op {n:,} tasks: timing")
    noop_scenario(big, plan.noop_reps, startup, 0.4, out, plan.pure_doit)


def run_sleep_scenarios(base: Path, plan: Plan, out: Results, log: Progress) -> None:
    """Scenario 4: critical path defined last, then a seeded random DAG, 2 workers each."""
    log("critical path last: 6 x 0.5 s independent + chain of 3 x 0.5 s")
    sleep_scenario(base, "critical-last", critical_last_graph(), plan.sleep_reps, out)
    log("random DAG: 40 tasks, 0.05-0.4 s, seed 7")
    sleep_scenario(base, "random-dag-40", random_dag(), plan.sleep_reps, out)


def main(argv: list[str] | None = None) -> int:
    """Run every scenario, print the table, optionally write JSON.

    Returns:
        0; failures of either tool are rows in the table, not exit codes.
    """
    args = bench_args(__doc__, argv, "fewer repetitions (~2 min)")
    plan = QUICK if args.quick else FULL
    log = Progress()
    out = Results()
    base = Path(tempfile.mkdtemp(prefix="conjure-bench-"))
    try:
        startup = startup_seconds(plan.startup_reps)
        log(f"fixed start-up (python -c 'import doit.doit_cmd'): {startup:.3f} s")
        run_noop_scenarios(base, plan, startup, out, log)
        run_sleep_scenarios(base, plan, out, log)
    finally:
        if args.keep:
            log(f"workspaces kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    out.raw["startup_s"] = startup
    info = machine()
    print(
        f"machine: {info['cpus']} CPUs, {info['platform']}, Python {info['python']}; "
        f"start-up {startup:.3f} s; {'quick' if args.quick else 'full'} run, "
        f"{time.perf_counter() - log.start:.0f} s"
    )
    print(format_table(out.rows))
    if args.json:
        write_json(args.json, out.rows, out.raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
