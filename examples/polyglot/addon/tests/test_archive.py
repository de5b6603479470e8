import sqlite3
from pathlib import Path

import pytest

from polyglot_addon import Job, JobArchive

pytestmark = pytest.mark.database


def _job(job_id: int, status: str, frames: int = 10) -> Job:
    return Job(job_id, f"job{job_id}", "s.usd", 1, frames, 50, status)


def test_record_and_report(tmp_path: Path) -> None:
    with JobArchive(tmp_path / "farm.db") as archive:
        assert archive.record([_job(1, "done", 24), _job(2, "queued"), _job(3, "done", 10)]) == 3
        assert archive.count_by_status() == {"done": 2, "queued": 1}
        assert archive.frames_rendered() == 34
        assert archive.get(2) == _job(2, "queued")
        assert archive.get(99) is None


def test_recording_again_replaces(tmp_path: Path) -> None:
    path = tmp_path / "farm.db"
    with JobArchive(path) as archive:
        archive.record([_job(1, "queued")])
    with JobArchive(path) as archive:  # reopening keeps the data
        archive.record([_job(1, "failed")])
        assert archive.count_by_status() == {"failed": 1}


def test_failed_batch_stores_nothing(tmp_path: Path) -> None:
    bad = Job(2, None, "s.usd", 1, 2, 50, "queued")  # type: ignore[arg-type]  # NOT NULL name
    with JobArchive(tmp_path / "farm.db") as archive:
        with pytest.raises(sqlite3.IntegrityError):
            archive.record([_job(1, "done"), bad])
        assert archive.count_by_status() == {}
