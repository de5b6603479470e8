"""The shard plan (the action of ``test-plan``): collect the tests of the selected suites,
split them by recorded durations, write what this shard runs, and describe it.

Files: ``cache/testing/plan.json`` (every shard: tests, predicted seconds) and
``cache/testing/plan/<suite>.json`` (this shard's tests of one suite, in run order; a suite
task depends on its own file only, so an unchanged selection keeps it up to date).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conjure.testing._durations import durations_path, read_durations, write_json_atomic
from conjure.testing._model import format_ident
from conjure.testing._shard import (
    ShardSpec,
    assign,
    balance,
    chunk_tests,
    estimate,
    parse_shard,
    shuffled,
)
from conjure.testing._suite import GoTests, PytestTests, Tests, tests_from_dict

_GO_TEST_NAME = re.compile(r"^(Test|Example|Fuzz)\w*$")


@dataclass(frozen=True)
class Collected:
    """One collected test.

    Attributes:
        suite: the suite it belongs to.
        part: the index of the suite part that runs it.
        key: its durations key (``runner:group:name``).
        selector: what selects it when running (node id, or ``pkg::TestName``).
        ident: its readable id (for filters files and the plan).
    """

    suite: str
    part: int
    key: str
    selector: str
    ident: str


@dataclass
class PlanConfig:
    """What the plan step is told (JSON on its command line)."""

    suites: list[dict[str, Any]]
    cache_dir: str = "cache"
    k: str = ""
    shard: str = ""
    chunks: int = 0
    seed: int | None = None
    filters: list[str] = field(default_factory=list)


def plan_dir(cache_dir: Path) -> Path:
    """Where the plan files live."""
    return cache_dir / "testing" / "plan"


def collect(suites: Sequence[dict[str, Any]], k: str) -> list[Collected]:
    """Every test of the suites, in collection order.

    Raises:
        RuntimeError: a collection command failed (its output is in the message).
    """
    found: list[Collected] = []
    for suite in suites:
        for index, data in enumerate(suite["tests"]):
            part = tests_from_dict(data)
            for runner, group, name, selector in _collect_part(part, k):
                ident = format_ident(runner, group, name)
                key = f"{runner}:{group}:{name}"
                found.append(Collected(suite["name"], index, key, selector, ident))
    return found


def _collect_part(part: Tests, k: str) -> list[tuple[str, str, str, str]]:
    if isinstance(part, PytestTests):
        return [("pytest", part.project, n, n) for n in collect_pytest(part, k)]
    return [("go", pkg, name, f"{pkg}::{name}") for pkg, name in collect_go(part)]


def collect_pytest(part: PytestTests, k: str) -> list[str]:
    """Node ids pytest would run for a part (``--collect-only -q``)."""
    command = [*dataclasses.replace(part, coverage=False).command(), "--collect-only", "-q"]
    command += ["-p", "no:cacheprovider", *(["-m", part.markers] if part.markers else [])]
    command += [*part.paths, *(["-k", k] if k else []), *part.args]
    done = _run(command, None if part.uv else part.project, part.env, part.uv)
    if done.returncode not in (0, 5):
        raise RuntimeError(
            f"pytest could not collect tests (exit {done.returncode}):\n{done.stdout}"
        )
    return [line.strip() for line in done.stdout.splitlines() if "::" in line and line[:1] != " "]


def collect_go(part: GoTests) -> list[tuple[str, str]]:
    """(package, TestName) pairs ``go test -list`` reports, ``-skip`` applied."""
    command = ["go", "test", "-json", "-list", part.run or ".", *part.flags(), *part.packages]
    done = _run(command, part.module, part.env, False)
    skip = re.compile(part.skip) if part.skip else None
    found = []
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        name = str(event.get("Output") or "").strip()
        listed = event.get("Action") == "output" and event.get("Package")
        if listed and _GO_TEST_NAME.match(name) and (skip is None or not skip.search(name)):
            found.append((str(event["Package"]), name))
    if done.returncode != 0:
        raise RuntimeError(f"go test -list failed (exit {done.returncode}):\n{done.stdout[-4000:]}")
    return found


def _run(
    command: list[str], cwd: str | None, extra: Any, uv: bool
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **dict(extra)}
    if uv:
        env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )


def make_plan(
    tests: Sequence[Collected],
    durations: dict[str, float],
    shard: ShardSpec,
    chunks: int = 0,
    seed: int | None = None,
) -> dict[str, Any]:
    """Splits collected tests into shards, and this shard's tests of each suite into chunks;
    pure.

    Returns:
        JSON-ready data: ``shards`` (index, tests, predicted seconds), ``balance`` (slowest /
        mean shard), ``unknown`` (tests with no recorded duration), ``run``: this shard's
        selectors per suite and part, in run order (shuffled with ``seed``), and with
        ``chunks`` > 0, ``suite_chunks``: per suite, its chunks (predicted seconds and selectors
        per part), heaviest first.
    """
    by_id = {f"{t.suite}\x00{t.key}": t for t in tests}
    known = estimate([t.key for t in tests], durations)
    weights = {item: known[t.key] for item, t in by_id.items()}
    shards = assign(weights, shard.total)
    position = {item: i for i, item in enumerate(by_id)}
    mine = shards[shard.index - 1]
    order = shuffled(mine, seed) if seed is not None else sorted(mine, key=position.__getitem__)
    loads = [sum(weights[i] for i in items) for items in shards]
    plan: dict[str, Any] = {
        "shard": str(shard),
        "chunks": chunks,
        "seed": seed,
        "total_tests": len(tests),
        "unknown": sum(1 for t in tests if t.key not in durations),
        "balance": balance(loads),
        "shards": [
            {"index": i + 1, "tests": len(items), "predicted": loads[i]}
            for i, items in enumerate(shards)
        ],
        "run": _selectors(order, by_id),
        "tests": [by_id[i].ident for i in order],
    }
    if chunks:
        plan["suite_chunks"] = _chunks(order, by_id, weights, chunks)
    return plan


def _selectors(
    items: Sequence[str], by_id: dict[str, Collected]
) -> dict[str, dict[str, list[str]]]:
    """Selectors per suite and part, in the order of ``items``."""
    run: dict[str, dict[str, list[str]]] = {}
    for item in items:
        test = by_id[item]
        run.setdefault(test.suite, {}).setdefault(str(test.part), []).append(test.selector)
    return run


def _chunks(
    order: Sequence[str], by_id: dict[str, Collected], weights: dict[str, float], count: int
) -> dict[str, list[dict[str, Any]]]:
    """Each suite's tests of this shard in up to ``count`` chunks (run order kept inside)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for suite in dict.fromkeys(by_id[item].suite for item in order):
        items = [item for item in order if by_id[item].suite == suite]
        rank = {item: i for i, item in enumerate(items)}
        found[suite] = [
            {
                "predicted": sum(weights[i] for i in chunk),
                "run": _selectors(sorted(chunk, key=rank.__getitem__), by_id)[suite],
            }
            for chunk in chunk_tests({i: weights[i] for i in items}, count)
        ]
    return found


def apply_filters(
    tests: Sequence[Collected], filters: Sequence[str]
) -> tuple[list[Collected], list[str]]:
    """Keeps the tests a filters file names (by readable id or selector).

    Returns:
        The kept tests, and the filter lines that matched no test.
    """
    wanted = {line.strip() for line in filters if line.strip() and not line.startswith("#")}
    kept = [t for t in tests if t.ident in wanted or t.selector in wanted]
    seen = {t.ident for t in kept} | {t.selector for t in kept}
    return kept, sorted(wanted - seen)


def describe_plan(plan: dict[str, Any], suites: Sequence[str]) -> str:
    """The plan as text: one line per shard, this shard marked."""
    lines = [
        f"plan: {plan['total_tests']} tests of {', '.join(suites)} over {len(plan['shards'])} "
        f"shard(s); {plan['unknown']} without a recorded duration (the mean is assumed)"
    ]
    for entry in plan["shards"]:
        mark = "  <- this shard" if str(entry["index"]) == plan["shard"].split("/")[0] else ""
        lines.append(
            f"  shard {entry['index']}: {entry['tests']:5d} tests, predicted "
            f"{entry['predicted']:8.2f}s{mark}"
        )
    lines.append(f"slowest/mean shard: {plan['balance']:.3f}")
    for suite, chunks in plan.get("suite_chunks", {}).items():
        seconds = ", ".join(f"{c['predicted']:.2f}s" for c in chunks)
        lines.append(f"suite {suite}: {len(chunks)} chunk(s) on this shard, predicted {seconds}")
    if plan["seed"] is not None:
        lines.append(f"order shuffled with --seed {plan['seed']}")
    return "\n".join(lines)


def write_plan(config: PlanConfig) -> str:
    """Collects, splits and writes the plan files; returns the plan's description."""
    cache = Path(config.cache_dir)
    tests = collect(config.suites, config.k)
    notes: list[str] = []
    if config.filters:
        tests, unmatched = apply_filters(tests, config.filters)
        notes += [f"filter matched no test: {line}" for line in unmatched]
    durations = read_durations(durations_path(cache))
    plan = make_plan(tests, durations, parse_shard(config.shard), config.chunks, config.seed)
    plan["notes"] = notes
    write_json_atomic(cache / "testing" / "plan.json", plan)
    for suite in config.suites:
        name = suite["name"]
        data = {
            "shard": plan["shard"],
            "run": plan["run"].get(name, {}),
            "chunks": [c["run"] for c in plan.get("suite_chunks", {}).get(name, [])],
        }
        write_json_atomic(plan_dir(cache) / f"{name}.json", data)
    text = describe_plan(plan, [s["name"] for s in config.suites])
    return "\n".join([text, *(f"note: {n}" for n in notes)])


def main(argv: Sequence[str]) -> int:
    """``python -m conjure.testing plan CONFIG_JSON``."""
    config = PlanConfig(**json.loads(argv[0]))
    try:
        sys.stdout.write(write_plan(config) + "\n")
    except RuntimeError as err:
        sys.stdout.write(f"conjure: error: {err}\n")
        return 1
    return 0
