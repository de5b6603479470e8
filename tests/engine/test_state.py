"""StateStore: stat rows, records and the generation that guards the no-op snapshot."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from conjure.engine.state import StateStore, TaskRecord


def _record(name: str) -> TaskRecord:
    return TaskRecord(name, "def", "{}", "in", "{}", "{}", "{}", None, 0.5, 1.0, "key")


def test_record_files_updates_known_paths_and_adds_new_ones(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "state.sqlite", "blake3")
    state.record_files({"a": (1, 10, 100, "da"), "b": (2, 20, 200, "db")})
    state.record_files({"b": (3, 30, 300, "db2"), "c": (4, -1, 400, "dc")})
    assert state.load_files() == {
        "a": (1, 10, 100, "da"),
        "b": (3, 30, 300, "db2"),
        "c": (4, -1, 400, "dc"),
    }
    state.close()
    again = StateStore(tmp_path / "state.sqlite", "blake3")
    assert again.load_files()["b"] == (3, 30, 300, "db2")
    again.close()


def test_every_change_of_records_bumps_the_generation_and_drops_the_snapshot(
    tmp_path: Path,
) -> None:
    state = StateStore(tmp_path / "state.sqlite", "blake3")
    generation = state.generation()
    assert state.write_snapshot(b"snapshot", generation)
    state.record(_record("t"), {"a": (1, 10, 100, "da")})
    assert not state.snapshot_path.exists()
    assert state.generation() == generation + 1
    assert state.write_snapshot(b"snapshot", generation + 1)
    state.invalidate("t")
    assert not state.snapshot_path.exists()
    assert state.generation() == generation + 2
    assert not state.write_snapshot(b"stale", generation + 1)  # records changed since
    assert not state.snapshot_path.exists()
    assert state.load_tasks() == {}
    state.record_files({"a": (2, 20, 200, "da")})  # stat rows alone change no record
    assert state.generation() == generation + 2
    state.close()


def _open_at_barrier(path: str, barrier: Any, found: Any) -> None:
    barrier.wait()
    store = StateStore(Path(path), "blake3")
    found.put(list(store.warnings))
    store.close()


def test_two_processes_creating_the_database_at_once_never_set_it_aside(
    tmp_path: Path,
) -> None:
    # SQLite answers "database is locked" at once (no busy wait) to one of two connections
    # creating a database or switching it to WAL together: busy, not corrupt.
    context = multiprocessing.get_context("fork")
    warnings: list[str] = []
    for round_ in range(40):
        path = tmp_path / str(round_) / "cache" / "state.sqlite"
        barrier, found = context.Barrier(2), context.Queue()
        procs = [
            context.Process(target=_open_at_barrier, args=(str(path), barrier, found))
            for _ in range(2)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
            assert proc.exitcode == 0
        warnings += found.get(timeout=5) + found.get(timeout=5)
        assert sorted(p.name for p in path.parent.iterdir() if "corrupt" in p.name) == []
    assert warnings == []
