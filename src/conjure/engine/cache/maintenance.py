"""Keeping the local cache healthy: sizes, least-recently-used pruning, verification, clearing.

Pruning keeps the most recently used manifests (a manifest's mtime is refreshed on every hit)
whose blobs fit under the limit, then deletes every blob no kept manifest refers to. Blobs
and temporary files younger than ``GRACE_SECONDS`` are never deleted: another ``doit`` on the
same cache may be about to write the manifest that refers to them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from conjure.engine.cache.store import CacheMiss, LocalCache, Manifest

GRACE_SECONDS = 120.0


@dataclass
class Usage:
    """How big the cache is."""

    entries: int = 0
    blobs: int = 0
    bytes: int = 0


@dataclass
class PruneResult:
    """What a prune removed."""

    entries: int = 0
    blobs: int = 0
    freed: int = 0
    kept_bytes: int = 0


@dataclass
class VerifyResult:
    """What a verification found."""

    blobs: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def usage(cache: LocalCache) -> Usage:
    """Counts entries and blobs and their bytes."""
    result = Usage()
    for path in cache.manifests():
        result.entries += 1
        result.bytes += _size(path)
    for path in cache.blob_files():
        result.blobs += 1
        result.bytes += _size(path)
    return result


def _read(path: Path) -> Manifest | None:
    try:
        return Manifest.from_json(path.read_bytes())
    except (CacheMiss, OSError):
        return None


def _by_recent_use(cache: LocalCache) -> Iterator[tuple[Path, Manifest | None]]:
    stamped = []
    for path in cache.manifests():
        try:
            stamped.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    for _, path in sorted(stamped, reverse=True):
        yield path, _read(path)


def prune(cache: LocalCache, max_bytes: int, now: float | None = None) -> PruneResult:
    """Removes the least recently used entries until the cache fits in ``max_bytes``."""
    now = time.time() if now is None else now
    result = PruneResult()
    kept_blobs: set[str] = set()
    total = 0
    full = False
    for path, manifest in _by_recent_use(cache):
        if manifest is None or full:
            _remove(path, result)
            continue
        extra = sum(_size(cache.blob_path(d)) for d in manifest.blobs() - kept_blobs)
        if total + extra + _size(path) <= max_bytes:
            kept_blobs |= manifest.blobs()
            total += extra + _size(path)
        else:  # strictly least recently used: this entry and every older one go
            full = True
            _remove(path, result)
    for blob in list(cache.blob_files()):
        if blob.name not in kept_blobs and not _young(blob, now):
            result.blobs += 1
            result.freed += _size(blob)
            blob.unlink(missing_ok=True)
    _clean_tmp(cache, now)
    result.kept_bytes = total
    return result


def _remove(path: Path, result: PruneResult) -> None:
    result.entries += 1
    result.freed += _size(path)
    path.unlink(missing_ok=True)


def _young(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime < GRACE_SECONDS
    except FileNotFoundError:
        return False


def _clean_tmp(cache: LocalCache, now: float) -> None:
    if cache.tmp.is_dir():
        for leftover in cache.tmp.iterdir():
            if not _young(leftover, now):
                leftover.unlink(missing_ok=True)


def verify(cache: LocalCache) -> VerifyResult:
    """Checks every blob's digest and every manifest; damaged ones are set aside."""
    result = VerifyResult()
    present = set()
    for blob in list(cache.blob_files()):
        result.blobs += 1
        try:
            cache.verified_blob(blob.name)
            present.add(blob.name)
        except CacheMiss as miss:
            result.problems.append(miss.note)
    for path in list(cache.manifests()):
        result.entries += 1
        manifest = _read(path)
        if manifest is None:
            aside = cache.set_aside(path)
            result.problems.append(f"damaged manifest {path.name}; moved it to {aside}")
            continue
        missing = sorted(manifest.blobs() - present)
        if missing:
            path.unlink(missing_ok=True)
            result.problems.append(
                f"entry {manifest.key[:12]} ({manifest.task}) lacks {len(missing)} blob(s); "
                "removed it"
            )
    return result


def clear(cache: LocalCache) -> int:
    """Deletes every entry and blob (the state and run records stay); returns bytes freed."""
    freed = usage(cache).bytes
    for folder in (cache.ac, cache.cas, cache.tmp, cache.folder / "corrupt"):
        shutil.rmtree(folder, ignore_errors=True)
    return freed


def hit_rate(runs_dir: Path, last: int = 10) -> tuple[int, int]:
    """(cached, ran) task counts over the last run records."""
    cached = ran = 0
    if not runs_dir.is_dir():
        return 0, 0
    for path in sorted(runs_dir.glob("*.json"))[-last:]:
        try:
            counts = json.loads(path.read_text()).get("counts", {})
        except (OSError, ValueError, AttributeError):
            continue
        cached += int(counts.get("cached", 0))
        ran += int(counts.get("ran", 0))
    return cached, ran


def human(size: float) -> str:
    """``1.2 GB``, ``340 MB``, ``12 kB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def stale_over(cache: LocalCache, max_bytes: int) -> bool:
    """Whether the cache is over its limit (a quick sum of file sizes)."""
    total = 0
    for base in (cache.cas, cache.ac):
        if not base.is_dir():
            continue
        for sub in os.scandir(base):
            if sub.is_dir():
                for entry in os.scandir(sub.path):
                    total += entry.stat().st_size
                    if total > max_bytes:
                        return True
    return False
