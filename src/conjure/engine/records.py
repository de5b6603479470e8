"""Run records (``cache/runs/<id>.json``) and Chrome traces (``--trace FILE``)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conjure.engine.statuses import UP_TO_DATE

if TYPE_CHECKING:
    from conjure.engine.events import TaskResult


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the millisecond plus a random suffix."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}.{int(now * 1000) % 1000:03d}Z-{os.urandom(3).hex()}"


def write_json_atomic(path: Path, data: Any) -> None:
    """Writes JSON through a temporary file and a rename: readers never see half a file."""
    write_text_atomic(path, json.dumps(data, separators=(",", ":")))


def write_text_atomic(path: Path, text: str) -> None:
    """Writes text through a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def run_record(
    run_id: str,
    results: Sequence[TaskResult],
    *,
    started: float,
    finished: float,
    argv: Sequence[str],
    jobs: int,
    exit_code: int,
) -> dict[str, Any]:
    """The JSON record of a run: per task status, start, end, duration and why it ran.

    Up-to-date tasks are listed by name only: a no-op run of 10,000 tasks stays small.
    """
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {
        "run_id": run_id,
        "started": started,
        "finished": finished,
        "elapsed": finished - started,
        "argv": list(argv),
        "jobs": jobs,
        "exit_code": exit_code,
        "counts": counts,
        "tasks": [_task_entry(r) for r in results if r.status != UP_TO_DATE],
        "up_to_date": [r.name for r in results if r.status == UP_TO_DATE],
    }


def _task_entry(result: TaskResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "status": result.status,
        "start": result.start,
        "end": result.end,
        "duration": result.duration,
        "worker": result.worker,
        "why": [reason.as_dict() for reason in result.reasons],
        "error": result.error or None,
        **({"source": result.source} if result.source else {}),
    }


def record_run(
    runs_dir: Path,
    run_id: str,
    results: Sequence[TaskResult],
    *,
    started: float,
    finished: float,
    jobs: int,
    exit_code: int,
    keep: int,
    **extra: Any,
) -> Path:
    """Builds the run's record (with this process's arguments) and saves it.

    Args:
        runs_dir: ``cache/runs``.
        run_id: the run's id.
        results: every task's result.
        started: Unix time the run started.
        finished: Unix time it finished.
        jobs: the number of workers.
        exit_code: the run's exit code.
        keep: how many records to keep.
        **extra: more top-level fields (e.g. ``from_snapshot``).

    Returns:
        The record's path.
    """
    record = run_record(
        run_id,
        results,
        started=started,
        finished=finished,
        argv=sys.argv[1:],
        jobs=jobs,
        exit_code=exit_code,
    )
    record.update(extra)
    return save_run_record(runs_dir, record, keep)


def save_run_record(runs_dir: Path, record: dict[str, Any], keep: int) -> Path:
    """Writes a run record and deletes the oldest beyond ``keep``."""
    text = json.dumps(record, separators=(",", ":"))
    return save_run_text(runs_dir, record["run_id"], text, keep)


def save_run_text(runs_dir: Path, run_id: str, text: str, keep: int) -> Path:
    """Writes a run record already in JSON and deletes the oldest beyond ``keep``."""
    path = runs_dir / f"{run_id}.json"
    write_text_atomic(path, text)
    records = sorted(name for name in os.listdir(runs_dir) if name.endswith(".json"))
    for old in records[: max(0, len(records) - keep)]:
        (runs_dir / old).unlink(missing_ok=True)
    return path


def chrome_trace(results: Sequence[TaskResult], started: float) -> dict[str, Any]:
    """A Chrome trace (viewable in Perfetto): one slice per task that ran, one row per worker."""
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "doit (conjure)"}}
    ]
    workers = sorted({r.worker for r in results if r.worker is not None})
    for worker in workers:
        events.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": 1,
                "tid": worker,
                "args": {"name": f"worker {worker}"},
            }
        )
    for result in results:
        if result.start is None or result.end is None or result.worker is None:
            continue
        events.append(
            {
                "name": result.name,
                "cat": result.status,
                "ph": "X",
                "pid": 1,
                "tid": result.worker,
                "ts": round((result.start - started) * 1e6),
                "dur": round(result.duration * 1e6),
                "args": {"why": [r.message for r in result.reasons]},
            }
        )
    return {"traceEvents": events, "displayTimeUnit": "ms"}
