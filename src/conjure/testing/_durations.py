"""The durations record, ``cache/testing/durations.json``: seconds per test key, merged on
every run (never overwritten wholesale) and written atomically.

Writers take an advisory lock on ``durations.lock`` so suites that finish at the same time
do not lose each other's updates.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from conjure.engine.records import write_text_atomic
from conjure.errors import ConfigError

FORMAT = 1
RECENT_WEIGHT = 0.7
"""A re-measured test's new duration is 70% the latest measure, 30% the recorded one."""


def durations_path(cache_dir: Path) -> Path:
    """Where the record lives under a cache folder."""
    return cache_dir / "testing" / "durations.json"


def read_durations(path: Path) -> dict[str, float]:
    """Reads a durations record; a missing file is empty.

    Raises:
        ConfigError: the file is not a durations record; the message says how to fix it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
        tests = data["tests"]
        if data.get("format") != FORMAT or not isinstance(tests, dict):
            raise ValueError("unknown format")
        return {str(k): float(v) for k, v in tests.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(
            f"corrupt durations record {path} ({err}): delete it; "
            "the next run records durations again"
        ) from None


def merge_durations(
    old: Mapping[str, float], new: Mapping[str, float], weight: float = RECENT_WEIGHT
) -> dict[str, float]:
    """Old and new durations together; tests measured again are smoothed toward the new value."""
    merged = dict(old)
    for key, seconds in new.items():
        previous = merged.get(key)
        merged[key] = seconds if previous is None else weight * seconds + (1 - weight) * previous
    return merged


def record_durations(path: Path, new: Mapping[str, float]) -> dict[str, float]:
    """Merges new durations into the record on disk under a lock, atomically.

    A corrupt record is replaced (its content is useless) rather than blocking the test run
    that measured fresh numbers.

    Returns:
        The merged record.
    """
    return update_durations(path, lambda old: merge_durations(old, new))


def update_durations(
    path: Path, change: Callable[[dict[str, float]], dict[str, float]]
) -> dict[str, float]:
    """Replaces the record on disk by ``change(record)``, under the lock, atomically.

    A corrupt record is read as empty.

    Returns:
        The new record.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_suffix(".lock")):
        try:
            old = read_durations(path)
        except ConfigError:
            old = {}
        merged = change(old)
        write_json_atomic(path, {"format": FORMAT, "tests": dict(sorted(merged.items()))})
    return merged


def fold_shard_durations(
    local: Mapping[str, float],
    shards: Sequence[tuple[Mapping[str, float], Mapping[str, float]]],
) -> dict[str, float]:
    """The local record updated with N shards' records, as one machine running them all would.

    Args:
        local: the record of this checkout (restored from the cache the shards started from).
        shards: per shard, its record and what it measured in its run.

    A test measured by a shard is smoothed into the local value (or takes the shard's own
    record, which already holds the measure, when the local record does not know it); a test
    only a shard's record knows is added as it is there.
    """
    folded = dict(local)
    for record, measured in shards:
        for key, seconds in measured.items():
            previous = local.get(key)
            folded[key] = (
                record.get(key, seconds)
                if previous is None
                else RECENT_WEIGHT * seconds + (1 - RECENT_WEIGHT) * previous
            )
    measured_keys = {key for _, measured in shards for key in measured}
    for record, _ in shards:
        for key, seconds in record.items():
            if key not in folded and key not in measured_keys:
                folded[key] = seconds
    return folded


def write_json_atomic(path: Path, data: Any) -> None:
    """Writes indented JSON through a temporary file and a rename (readers never see half
    a file): durations and plans are read by people too."""
    write_text_atomic(path, json.dumps(data, indent=1))


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the rename still keeps the file whole
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
