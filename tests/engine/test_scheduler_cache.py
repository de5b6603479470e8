"""The scheduler with the output cache: what a restore keeps, and a miss that runs for real."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conjure.cli.session import Session
from conjure.engine.cache.store import LocalCache
from conjure.engine.events import Notice
from conjure.engine.scheduler import RunOptions, Scheduler


def recorded(name: str) -> bool:
    """Whether the state database holds a record of the task (read on its own connection)."""
    conn = sqlite3.connect(Path("cache/state.sqlite"))
    try:
        return conn.execute("SELECT 1 FROM tasks WHERE name=?", (name,)).fetchone() is not None
    finally:
        conn.close()


def gen_task(seen: list[str]) -> dict[str, Any]:
    """A cacheable task whose action notes whether its record was there when it ran."""

    def build() -> bool:
        seen.append(f"action, recorded={recorded('gen')}")
        Path("out").mkdir(exist_ok=True)
        Path("out/a.txt").write_text("built a\n")
        Path("out/b.txt").write_text("built b\n")
        return True

    return {
        "name": "gen",
        "actions": [build],
        "file_dep": ["in.txt"],
        "targets": ["out/a.txt", "out/b.txt"],
    }


def run(session: Session, notices: list[str] | None = None) -> str:
    """Runs every task of the session with the output cache; the status of ``gen``."""
    assert session.graph is not None

    def emit(event: object) -> None:
        if isinstance(event, Notice) and notices is not None:
            notices.append(event.message)

    scheduler = Scheduler(
        session.works,
        session.graph,
        session.graph.order,
        session.checker(),
        session.state,
        RunOptions(jobs=2),
        emit,
        session.output_cache,
    )
    results = {result.name: result for result in scheduler.run()}
    return results["gen"].status


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What happened, in order: restores (with whether the record was there) and actions."""
    seen: list[str] = []
    restore = LocalCache.restore

    def watching(self: LocalCache, manifest: Any) -> Any:
        seen.append(f"restore, recorded={recorded('gen')}")
        return restore(self, manifest)

    monkeypatch.setattr(LocalCache, "restore", watching)
    return seen


def test_a_restore_keeps_the_record_until_it_is_replaced(
    session: Callable[..., Session], watched: list[str]
) -> None:
    Path("in.txt").write_text("one\n")
    assert run(session(gen_task(watched))) == "ran"
    assert watched == ["action, recorded=False"]
    watched.clear()
    os.remove("out/a.txt")
    assert run(session(gen_task(watched))) == "cached"
    assert watched == ["restore, recorded=True"]
    assert recorded("gen")
    assert Path("out/a.txt").read_text() == "built a\n"


def test_a_restore_that_misses_forgets_the_record_before_the_task_runs(
    session: Callable[..., Session], watched: list[str]
) -> None:
    Path("in.txt").write_text("one\n")
    assert run(session(gen_task(watched))) == "ran"
    watched.clear()
    (manifest,) = Path("cache/ac").glob("*/*.json")
    entry = json.loads(manifest.read_text())["entries"][0]
    blob = Path("cache/cas") / entry["digest"][:2] / entry["digest"]
    blob.chmod(0o644)
    blob.write_bytes(b"damaged")
    os.remove(entry["path"])
    notices: list[str] = []
    assert run(session(gen_task(watched)), notices) == "ran"
    assert watched == ["restore, recorded=True", "action, recorded=False"]
    assert any("is corrupt" in message for message in notices), notices
    assert recorded("gen")
