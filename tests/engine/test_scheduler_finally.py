"""Finally tasks in the scheduler: real doit tasks, real state, real commands on threads."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conjure.cli.session import Session
from conjure.engine.events import TaskResult
from conjure.engine.scheduler import RunOptions, Scheduler

Seen = dict[str, dict[str, str]]


def scheduler(session: Session, jobs: int, keep_going: bool, cache: bool = False) -> Scheduler:
    """A scheduler for every task of the session (with the output cache when asked)."""
    assert session.graph is not None
    return Scheduler(
        session.works,
        session.graph,
        session.graph.order,
        session.checker(),
        session.state,
        RunOptions(jobs=jobs, keep_going=keep_going),
        lambda event: None,
        session.output_cache if cache else None,
    )


def run(session: Session, jobs: int = 2, keep_going: bool = False) -> dict[str, TaskResult]:
    """Runs every task of the session; the results by name."""
    return {result.name: result for result in scheduler(session, jobs, keep_going).run()}


def task(name: str, *actions: Any, deps: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {"name": name, "actions": list(actions), "task_dep": list(deps), **extra}


def finally_task(
    name: str, seen: Seen, deps: tuple[str, ...], fail: bool = False
) -> dict[str, Any]:
    """A finally task whose Python action keeps what it was told about its dependencies."""

    def look(upstream: dict[str, str]) -> bool:
        seen[name] = upstream
        return not fail

    return task(name, look, deps=deps, **{"finally": True})


def statuses(results: dict[str, TaskResult]) -> dict[str, str]:
    return {name: result.status for name, result in results.items()}


def test_a_failed_dependency_does_not_stop_a_finally_task(
    session: Callable[..., Session],
) -> None:
    seen: Seen = {}
    results = run(
        session(
            task("bad", "exit 3"),
            task("after", "true", deps=("bad",)),
            finally_task("fin", seen, deps=("bad",)),
            task("after_fin", "true", deps=("fin",)),
        )
    )
    assert statuses(results) == {
        "bad": "failed",
        "after": "skipped",
        "fin": "ran",
        "after_fin": "skipped",  # fail-fast: nothing but finally tasks starts after a failure
    }
    assert seen == {"fin": {"bad": "failed"}}
    assert results["after_fin"].error == "not started: the run stopped"


def test_a_finally_task_waits_for_every_dependency_and_skipped_ones(
    session: Callable[..., Session],
) -> None:
    seen: Seen = {}
    results = run(
        session(
            task("bad", "exit 1"),
            task("slow", "sleep 0.4"),
            task("mid", "true", deps=("bad",)),
            finally_task("fin", seen, deps=("bad", "slow", "mid")),
            task("after_fin", "true", deps=("fin",)),
        ),
        keep_going=True,
    )
    assert seen == {"fin": {"bad": "failed", "slow": "ran", "mid": "skipped"}}
    fin_start = results["fin"].start
    slow_end = results["slow"].end
    assert fin_start is not None and slow_end is not None and fin_start >= slow_end
    # with --continue, the finally task's own success is what its dependents see
    assert statuses(results)["after_fin"] == "ran"


def test_fail_fast_cancels_other_tasks_but_not_finally_ones(
    session: Callable[..., Session],
) -> None:
    seen: Seen = {}
    started = time.monotonic()
    results = run(
        session(
            task("slow", "sleep 30"),
            task("bad", "sleep 0.3; exit 3"),
            task("cleanup", "sleep 1", **{"finally": True}),
            task("waits", "true", deps=("slow",)),
            finally_task("fin", seen, deps=("slow", "bad", "waits")),
        ),
        jobs=3,
    )
    assert time.monotonic() - started < 15
    assert statuses(results) == {
        "slow": "cancelled",
        "bad": "failed",
        "cleanup": "ran",  # was running when bad failed: not cancelled
        "waits": "skipped",
        "fin": "ran",
    }
    assert seen["fin"] == {"slow": "cancelled", "bad": "failed", "waits": "skipped"}


def test_fail_fast_skips_queued_tasks_and_runs_the_finally_task_after_them(
    session: Callable[..., Session],
) -> None:
    seen: Seen = {}
    results = run(
        session(
            task("bad", "exit 2"),
            task("x", "true", deps=("bad",)),
            task("y", "true", deps=("x",)),  # bad has the longest path: it starts first
            task("queued", "true"),
            finally_task("fin", seen, deps=("queued",)),
        ),
        jobs=1,
    )
    assert statuses(results) == {
        "bad": "failed",
        "x": "skipped",
        "y": "skipped",
        "queued": "skipped",
        "fin": "ran",
    }
    assert seen == {"fin": {"queued": "skipped"}}


def test_a_failing_finally_task_is_a_failure(session: Callable[..., Session]) -> None:
    seen: Seen = {}
    results = run(
        session(
            task("ok", "true"),
            finally_task("fin", seen, deps=("ok",), fail=True),
            task("after_fin", "true", deps=("fin",)),
        ),
        keep_going=True,
    )
    assert statuses(results) == {"ok": "ran", "fin": "failed", "after_fin": "skipped"}
    assert seen == {"fin": {"ok": "ran"}}


def test_a_finally_task_after_a_failure_gets_no_cache_key(
    session: Callable[..., Session], tmp_path: Path
) -> None:
    """Its outputs after a failure must never be restored for a run that succeeds."""
    (tmp_path / "in.txt").write_text("x")

    def scheduler_keys(command: str) -> dict[str, str | None]:
        opened = session(
            task("dep", command),
            task(
                "fin",
                "cp in.txt out.txt",
                deps=("dep",),
                file_dep=["in.txt"],
                targets=["out.txt"],
                **{"finally": True},
            ),
        )
        running = scheduler(opened, jobs=1, keep_going=True, cache=True)
        assert {r.name: r.status for r in running.run()}["fin"] == "ran"
        return running.keys

    assert scheduler_keys("exit 1")["fin"] is None
    (tmp_path / "out.txt").unlink()
    assert isinstance(scheduler_keys("true")["fin"], str)
