"""Shard balance: splitting tests by recorded durations vs splitting by count.

Run from the repository root::

    uv run python bench/shard.py            # simulated 300-test suite + a real 40-test suite
    uv run python bench/shard.py --quick    # the simulated part only

Part 1 (simulated, as recorded data): 300 tests whose durations are log-uniform between
1 ms and 3 s, split over 4 shards by ``conjure.testing``'s assignment (recorded durations,
longest first onto the least-loaded shard) and by count (equal numbers of tests, in name
order, which is what a durations-less splitter does). The figure is slowest shard / mean
shard: 1.00 is perfect; the goal for durations is <= 1.05. Several seeds, so one lucky draw
does not decide.

Part 2 (real): a generated pytest suite of 40 tests that sleep 1 ms to 0.5 s, run once
unsharded through ``doit test-all`` to record durations, then as 4 shards with the recorded
durations and as 4 shards without them (unknown tests all weigh the mean: a split by count).
The figure is the same ratio over the measured seconds of each shard's tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from conjure.testing._shard import assign, assign_by_count, balance

SHARDS = 4


def skewed_durations(count: int, seed: int, low: float, high: float) -> dict[str, float]:
    """Log-uniform durations between ``low`` and ``high`` seconds, keyed ``t000``..."""
    rng = random.Random(seed)
    return {f"t{i:03d}": low * (high / low) ** rng.random() for i in range(count)}


def clustered(weights: dict[str, float]) -> dict[str, float]:
    """The same tests named by folder as in a real repo: slow ones (integration) together."""

    def folder(seconds: float) -> str:
        return "a_integration" if seconds > 0.3 else "b_api" if seconds > 0.03 else "c_unit"

    return {f"{folder(v)}/{k}": v for k, v in weights.items()}


def simulated(seeds: range) -> list[tuple[int, float, float, float]]:
    """(seed, ratio by durations, by count in random order, by count clustered) per seed."""
    rows = []
    for seed in seeds:
        weights = skewed_durations(300, seed, 0.001, 3.0)
        ratios = [balance([sum(weights[k] for k in s) for s in assign(weights, SHARDS)])]
        for named in (weights, clustered(weights)):
            split = assign_by_count(list(named), SHARDS)
            ratios.append(balance([sum(named[k] for k in s) for s in split]))
        rows.append((seed, *ratios))
    return rows


def _real_project(root: Path, count: int) -> None:
    weights = skewed_durations(count, 11, 0.001, 0.5)
    lines = ["import time", ""]
    for name, seconds in weights.items():
        lines += [f"def test_{name}():", f"    time.sleep({seconds:.4f})", ""]
    (root / "py" / "tests").mkdir(parents=True)
    (root / "py" / "tests" / "test_generated.py").write_text("\n".join(lines))
    (root / "dodo.py").write_text(
        "import conjure\nfrom conjure.testing import PytestTests, Suite, test_tasks\n"
        "DOIT_CONFIG = conjure.config()\n"
        "tests = test_tasks([Suite('gen', PytestTests('py', uv=False))])\n"
    )


def _doit(root: Path, *args: str) -> None:
    doit = str(Path(sys.executable).with_name("doit"))
    env = {**os.environ, "CI": "true"}
    done = subprocess.run([doit, *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"doit {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _shard_seconds(root: Path) -> float:
    data = json.loads((root / "cache" / "testing" / "results" / "gen.json").read_text())
    return sum(case["duration"] for case in data["cases"])


def real(count: int) -> tuple[float, float, list[float], list[float]]:
    """Ratios (by durations, by count) and the per-shard seconds of each, measured."""
    root = Path(tempfile.mkdtemp(prefix="conjure-bench-shard-"))
    try:
        _real_project(root, count)
        _doit(root, "test-all")  # records durations
        durations = root / "cache" / "testing" / "durations.json"
        recorded = durations.read_text()
        loads: dict[str, list[float]] = {"durations": [], "count": []}
        for mode in ("durations", "count"):
            for index in range(1, SHARDS + 1):
                if mode == "durations":
                    durations.write_text(recorded)  # every CI worker restores the same cache
                else:
                    durations.unlink(missing_ok=True)
                _doit(root, "test-all", "--shard", f"{index}/{SHARDS}")
                loads[mode].append(_shard_seconds(root))
        return (
            balance(loads["durations"]),
            balance(loads["count"]),
            loads["durations"],
            loads["count"],
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the simulated part only")
    args = parser.parse_args()
    print(f"slowest shard / mean shard, {SHARDS} shards (1.00 is perfect; goal <= 1.05)")
    print("\nsimulated: 300 tests, 1 ms to 3 s (log-uniform)")
    print(f"{'seed':>6} {'by durations':>14} {'by count':>10} {'by count, slow clustered':>26}")
    rows = simulated(range(1, 11))
    for seed, by_time, by_count, by_cluster in rows:
        print(f"{seed:>6} {by_time:>14.4f} {by_count:>10.3f} {by_cluster:>26.3f}")
    for label, pick in (("worst", max), ("mean", lambda xs: sum(xs) / len(xs))):
        cols = [pick([r[i] for r in rows]) for i in (1, 2, 3)]
        print(f"{label:>6} {cols[0]:>14.4f} {cols[1]:>10.3f} {cols[2]:>26.3f}")
    if not args.quick:
        if shutil.which("uv") is None and not Path(sys.executable).with_name("doit").exists():
            print("\nreal suite skipped: doit not found next to this interpreter")
            return 0
        by_time, by_count, time_loads, count_loads = real(40)
        print("\nreal: 40 pytest tests sleeping 1 ms to 0.5 s, run as 4 shards with doit test-all")
        print(f"{'':>6} {'by durations':>14} {'by count':>10}")
        print(f"{'ratio':>6} {by_time:>14.3f} {by_count:>10.3f}")
        print(
            f"{'shards':>6} {' '.join(f'{s:.2f}' for s in time_loads):>14}  "
            f"{' '.join(f'{s:.2f}' for s in count_loads)}  (seconds of tests per shard)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
