"""The state store: one SQLite database under ``cache/``, written per task, atomically.

What is stored, all with paths relative to the project root:

* ``files``: the last seen (size, mtime_ns, inode) and digest of every dependency and target,
  the stat fast path of ``FileIndex``;
* ``tasks``: for every task's last successful run, the digest of its definition, the digests
  of its file dependencies and targets, its saved values and result, and its duration.

A task's row is deleted before its actions run and written, in one transaction, only after
it succeeded: a run killed at any moment never leaves a row that a later run would trust. (A
restore from the output cache keeps the row until it misses: it writes nothing but the task's
targets, each a whole verified file, so the old row matches again only if every target is
back as recorded.)
Every such change also bumps a generation number and deletes the no-op snapshot (see
``conjure.cli.noop``) inside the same transaction, so no snapshot outlives the records it
was taken from.
SQLite in WAL mode lets two ``doit`` processes share one ``cache/`` without losing either
side's records. A corrupt database is set aside and rebuilt (tasks re-run; no file is lost).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conjure.engine.files import FileRow
from conjure.engine.layout import SNAPSHOT_FILE
from conjure.errors import ConjureError

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER, digest TEXT
);
CREATE TABLE IF NOT EXISTS tasks (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    parts TEXT NOT NULL,
    inputs TEXT NOT NULL,
    deps TEXT NOT NULL,
    targets TEXT NOT NULL,
    task_values TEXT NOT NULL,
    result TEXT,
    duration REAL NOT NULL,
    finished REAL NOT NULL,
    key TEXT
);
CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, key TEXT NOT NULL, parts TEXT NOT NULL);
"""
_MIGRATE_1_TO_2 = """
ALTER TABLE tasks ADD COLUMN key TEXT;
CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, key TEXT NOT NULL, parts TEXT NOT NULL);
"""


@dataclass
class TaskRecord:
    """A task's last successful run.

    Attributes:
        name: task name.
        definition: digest of the task's definition (actions, env, params).
        parts: JSON text of the definition's parts, for explaining a change.
        inputs: digest over the sorted (path, digest) pairs of its file dependencies.
        deps: JSON text ``{path: digest}`` of its file dependencies.
        targets: JSON text ``{path: digest}`` of its targets after the run.
        values: JSON text of the values its actions saved (doit's ``getargs``).
        result: digest of its last action's result (doit's ``result_dep``), or None.
        duration: seconds its actions took.
        finished: Unix time it finished.
        key: its task key (the output cache's name for its result), if computed.
    """

    name: str
    definition: str
    parts: str | None
    inputs: str
    deps: str | None
    targets: str
    values: str
    result: str | None
    duration: float
    finished: float
    key: str | None = None
    store: StateStore | None = field(default=None, repr=False, compare=False)

    def _column(self, column: str) -> str:
        """A large column, read on demand (a no-op run never needs it)."""
        value = getattr(self, column)
        if value is None:
            assert self.store is not None
            value = self.store.read_column(self.name, column)
            setattr(self, column, value)
        return str(value)

    def dep_digests(self) -> dict[str, str]:
        """The recorded file dependencies and their digests."""
        decoded: dict[str, str] = json.loads(self._column("deps"))
        return decoded

    def target_digests(self) -> dict[str, str]:
        """The recorded targets and their digests."""
        decoded: dict[str, str] = json.loads(self.targets)
        return decoded

    def saved_values(self) -> dict[str, Any]:
        """The values the task's actions saved."""
        decoded: dict[str, Any] = json.loads(self.values)
        return decoded

    def definition_parts(self) -> dict[str, Any]:
        """The parts of the recorded definition."""
        decoded: dict[str, Any] = json.loads(self._column("parts"))
        return decoded


class StateError(ConjureError):
    """The state database cannot be opened or created."""


class StateStore:
    """Reads and writes the state database.

    Args:
        path: the SQLite file (``cache/state.sqlite``).
        algorithm: the hash algorithm in use; stat rows of another algorithm are dropped.

    Attributes:
        warnings: one-line warnings for the user (a database set aside, a hash switch).
    """

    def __init__(self, path: Path, algorithm: str) -> None:
        self.path = path
        self.snapshot_path = path.with_name(SNAPSHOT_FILE)
        self.warnings: list[str] = []
        self._conn = self._open_or_rebuild(algorithm)

    def _open_or_rebuild(self, algorithm: str) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StateError(f"cannot create {self.path.parent}: {err.strerror}") from None
        try:
            return self._open_patiently(algorithm)
        except sqlite3.DatabaseError as err:
            if _is_lock_error(err):
                raise StateError(
                    f"state database {self.path} stayed locked by another process for "
                    f"{_LOCK_WAIT:.0f} s ({err})"
                ) from None
            aside = self._set_aside()
            self.warnings.append(
                f"state database {self.path} is unreadable ({err}); moved it to {aside.name} "
                "and started a new one: tasks will re-run once"
            )
        try:
            return self._open(algorithm)
        except sqlite3.DatabaseError as err:
            raise StateError(f"cannot open state database {self.path}: {err}") from None

    def _open_patiently(self, algorithm: str) -> sqlite3.Connection:
        """``_open``, tried again while another process holds a lock that SQLite's busy
        timeout does not wait for (two processes creating the database, or switching it to
        WAL, at once): such a database is busy, not corrupt."""
        deadline = time.monotonic() + _LOCK_WAIT
        delay = 0.005
        while True:
            try:
                return self._open(algorithm)
            except sqlite3.OperationalError as err:
                if not _is_lock_error(err) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _open(self, algorithm: str) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=_LOCK_WAIT, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"unknown schema version {version}")
            if version == 1:
                conn.executescript(_MIGRATE_1_TO_2)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if version == 0:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._check_algorithm(conn, algorithm)
            if conn.execute("SELECT 1 FROM meta WHERE key='instance'").fetchone() is None:
                with _Transaction(conn):  # who this database is, kept when it is copied
                    conn.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('instance', ?)", (uuid.uuid4().hex,)
                    )
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _check_algorithm(self, conn: sqlite3.Connection, algorithm: str) -> None:
        row = conn.execute("SELECT value FROM meta WHERE key='hash'").fetchone()
        if row is not None and row[0] == algorithm:
            return
        with _Transaction(conn):
            if row is not None:
                self._changed(conn)
                conn.execute("DELETE FROM files")
                self.warnings.append(
                    f"hash algorithm changed from {row[0]} to {algorithm}: tasks re-run once"
                )
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('hash', ?)", (algorithm,))

    def _set_aside(self) -> Path:
        _unlink(self.snapshot_path)
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(self.path) + suffix)
            if source.exists():
                os.replace(source, Path(str(aside) + suffix))
        return aside

    def load_files(self) -> dict[str, FileRow]:
        """Every recorded stat row, by path."""
        rows = self._query("SELECT path, size, mtime_ns, inode, digest FROM files")
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def load_tasks(self) -> dict[str, TaskRecord]:
        """Every task's last successful run, by task name."""
        rows = self._query(
            "SELECT name, definition, inputs, targets, task_values, result, duration, finished,"
            " key FROM tasks"
        )
        return {
            r[0]: TaskRecord(r[0], r[1], None, r[2], None, r[3], r[4], r[5], r[6], r[7], r[8], self)
            for r in rows
        }

    def last_key(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """The key (and its parts) of the task's last stored or restored cache entry."""
        row = self._conn.execute("SELECT key, parts FROM keys WHERE name=?", (name,)).fetchone()
        if row is None:
            return None
        parts: dict[str, Any] = json.loads(row[1])
        return row[0], parts

    def read_column(self, name: str, column: str) -> str:
        """One of a task's large columns (``parts`` or ``deps``); empty JSON if gone."""
        assert column in ("parts", "deps")
        row = self._conn.execute(f"SELECT {column} FROM tasks WHERE name=?", (name,)).fetchone()
        return row[0] if row else "{}"

    def _query(self, sql: str) -> list[Any]:
        try:
            return self._conn.execute(sql).fetchall()
        except sqlite3.DatabaseError as err:
            raise StateError(f"cannot read state database {self.path}: {err}") from None

    def generation(self) -> int:
        """How many times task records changed; read it before ``load_tasks``."""
        row = self._query("SELECT value FROM meta WHERE key='generation'")
        return int(row[0][0]) if row else 0

    def instance(self) -> str:
        """The database's identity (made when it was created, the same in a copy)."""
        row = self._query("SELECT value FROM meta WHERE key='instance'")
        return str(row[0][0]) if row else ""

    def write_snapshot(self, data: bytes, generation: int) -> bool:
        """Writes the no-op snapshot atomically, unless records changed since ``generation``.

        The check and the write happen under the database's write lock, so a concurrent
        change either comes first (and is seen) or deletes the snapshot after it.
        """
        with _Transaction(self._conn):
            if self.generation() != generation:
                return False
            tmp = self.snapshot_path.with_name(f".{SNAPSHOT_FILE}.{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, self.snapshot_path)
        return True

    def _changed(self, conn: sqlite3.Connection) -> None:
        """Inside a write transaction: records are about to change."""
        _unlink(self.snapshot_path)
        conn.execute(
            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def invalidate(self, name: str) -> None:
        """Forgets a task's record before it runs, so an interrupted run is never trusted."""
        with _Transaction(self._conn):
            self._changed(self._conn)
            self._conn.execute("DELETE FROM tasks WHERE name=?", (name,))

    def record(
        self,
        record: TaskRecord,
        files: Mapping[str, FileRow],
        key_parts: Mapping[str, Any] | None = None,
    ) -> None:
        """Stores a successful run and the stat rows it observed, in one transaction.

        With ``key_parts``, the task's key and its parts are kept (apart from the run record,
        which a later start deletes) for explaining a later cache miss.
        """
        with _Transaction(self._conn):
            self._changed(self._conn)
            self._write_files(files)
            if record.key is not None and key_parts is not None:
                self._conn.execute(
                    "INSERT OR REPLACE INTO keys VALUES (?,?,?)",
                    (record.name, record.key, json.dumps(key_parts, sort_keys=True)),
                )
            self._conn.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.name,
                    record.definition,
                    record.parts,
                    record.inputs,
                    record.deps,
                    record.targets,
                    record.values,
                    record.result,
                    record.duration,
                    record.finished,
                    record.key,
                ),
            )

    def record_files(self, files: Mapping[str, FileRow]) -> None:
        """Stores refreshed stat rows (content unchanged, stat moved), in one transaction."""
        if files:
            with _Transaction(self._conn):
                self._write_files(files)

    def _write_files(self, files: Mapping[str, FileRow]) -> None:
        # an upsert updates a known path's row in place; INSERT OR REPLACE would delete it
        # and insert it again, index entry included (a quarter slower on 10,000 rows)
        self._conn.executemany(
            "INSERT INTO files VALUES (?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET"
            " size=excluded.size, mtime_ns=excluded.mtime_ns, inode=excluded.inode,"
            " digest=excluded.digest",
            ((path, *row) for path, row in files.items()),
        )

    def remove(self, names: Iterable[str]) -> None:
        """Forgets the named tasks' records."""
        with _Transaction(self._conn):
            self._changed(self._conn)
            self._conn.executemany("DELETE FROM tasks WHERE name=?", [(n,) for n in names])

    def remove_all(self) -> None:
        """Forgets every task's record (stat rows are kept: they are facts about files)."""
        with _Transaction(self._conn):
            self._changed(self._conn)
            self._conn.execute("DELETE FROM tasks")

    def close(self) -> None:
        """Closes the database."""
        self._conn.close()


def read_identity(path: Path) -> tuple[str, int] | None:
    """(instance, generation) of a state database, read only; None when it cannot be read."""
    import sqlite3 as db

    if not path.is_file():
        return None
    try:
        conn = db.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    except db.Error:
        return None
    try:
        rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        return str(rows.get("instance", "")), int(rows.get("generation", 0))
    except (db.Error, ValueError):
        return None
    finally:
        conn.close()


_LOCK_WAIT = 30.0
"""Seconds to wait for a lock held by another process before giving up (as SQLite's busy
timeout on the connection)."""


def _is_lock_error(err: sqlite3.DatabaseError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(err) or "busy" in str(err)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        self._conn.execute("COMMIT" if kind is None else "ROLLBACK")
