"""A local SQLite archive of jobs seen on the farm, for reports."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from polyglot_addon._client import Job

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    scene       TEXT NOT NULL,
    frame_start INTEGER NOT NULL,
    frame_end   INTEGER NOT NULL,
    priority    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT ''
)
"""


class JobArchive:
    """Jobs keyed by server ID; recording a job again replaces it.

    Args:
        path: The database file; created, with its table, if missing.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        with self._db:
            self._db.execute(_SCHEMA)

    def close(self) -> None:
        """Closes the database; the archive is unusable afterwards."""
        self._db.close()

    def __enter__(self) -> JobArchive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record(self, jobs: Iterable[Job]) -> int:
        """Stores jobs in one transaction: all of them or, on error, none.

        Returns:
            How many jobs were stored.
        """
        rows = [
            (j.id, j.name, j.scene, j.frame_start, j.frame_end, j.priority, j.status, j.error) for j in jobs
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def get(self, job_id: int) -> Job | None:
        """Returns the archived job, or None."""
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else Job(*row)

    def count_by_status(self) -> dict[str, int]:
        """Returns how many archived jobs have each status."""
        rows = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")
        return {status: count for status, count in rows}

    def frames_rendered(self) -> int:
        """Returns the total frames of jobs whose status is ``done``."""
        row = self._db.execute(
            "SELECT COALESCE(SUM(frame_end - frame_start + 1), 0) FROM jobs WHERE status = 'done'"
        ).fetchone()
        return int(row[0])
