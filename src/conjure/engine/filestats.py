"""The stats of many files at once, packed: how the no-op path checks every file dependency.

A list of paths travels as one bytes object, each path NUL-terminated (``join_paths``), and
their stats come back as one bytes object, three native uint64 per file: size, mtime_ns and
inode, each modulo 2**64 (``pack``). Two such blobs compare in one ``==``.

``stat_paths`` is the C extension ``conjure.engine._filestats`` when it was built (see
``hatch_build.py``): only the system calls, without the GIL, about twice as fast as
``os.stat``. Without it, the same function in Python gives the same bytes. ``stat_many``
spreads one blob over several threads.
"""

from __future__ import annotations

import _thread
import os
from array import array
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

RECORD_SIZE = 24
"""Bytes per file in a packed blob."""

_MASK = (1 << 64) - 1
_SIGN = 1 << 63
_UNSETTLED_RECORD = b"\xff" * RECORD_SIZE


def join_paths(paths: Iterable[str]) -> bytes:
    """The paths as one blob, each encoded for the file system and NUL-terminated."""
    return b"".join(os.fsencode(path) + b"\0" for path in paths)


def split_paths(blob: bytes) -> list[str]:
    """The paths of a ``join_paths`` blob."""
    return [os.fsdecode(path) for path in blob.split(b"\0")[:-1]]


def pack(stats: Iterable[tuple[int, int, int]]) -> bytes:
    """(size, mtime_ns, inode) triples as a packed blob. ``UNSETTLED`` (-1, -1, -1) packs as
    all ones, which no file's stat does."""
    values = list(chain.from_iterable(stats))
    try:
        return array("Q", values).tobytes()
    except OverflowError:  # a negative mtime (before 1970), UNSETTLED
        return array("Q", [value & _MASK for value in values]).tobytes()


def unpack(blob: bytes) -> list[tuple[int, int, int]]:
    """The triples of a packed blob, as ``os.stat`` gives them (size and mtime signed, the
    inode unsigned); an all-ones record is ``UNSETTLED``."""
    values = array("Q", blob)
    out: list[tuple[int, int, int]] = []
    for i in range(0, len(values), 3):
        size, mtime, inode = values[i], values[i + 1], values[i + 2]
        if size == mtime == inode == _MASK:
            out.append((-1, -1, -1))
        else:
            out.append((_signed(size), _signed(mtime), inode))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value & _SIGN else value


def moved_indices(current: bytes, recorded: bytes) -> list[int]:
    """Which files' records differ between two packed blobs of the same paths."""
    return [
        i
        for i in range(len(current) // RECORD_SIZE)
        if current[i * RECORD_SIZE : (i + 1) * RECORD_SIZE]
        != recorded[i * RECORD_SIZE : (i + 1) * RECORD_SIZE]
    ]


def unsettle(blob: bytes, indices: Iterable[int]) -> bytes:
    """The blob with the records at ``indices`` replaced by ``UNSETTLED``."""
    out = bytearray(blob)
    for i in indices:
        out[i * RECORD_SIZE : (i + 1) * RECORD_SIZE] = _UNSETTLED_RECORD
    return bytes(out)


def _stat_paths_python(paths: bytes) -> bytes | None:
    """``stat_paths`` without the extension."""
    if paths and not paths.endswith(b"\0"):
        raise ValueError("paths must end with a NUL byte")
    try:
        stats = [
            (st.st_size, st.st_mtime_ns, st.st_ino) for st in map(os.stat, paths.split(b"\0")[:-1])
        ]
    except OSError:
        return None
    return pack(stats)


def _native() -> Callable[[bytes], bytes | None] | None:
    if os.environ.get("CONJURE_PURE_PYTHON"):  # the same bytes the slow way (tests, comparison)
        return None
    try:
        from conjure.engine._filestats import stat_paths as native
    except ImportError:  # not built here (no compiler, or CONJURE_NO_EXTENSION=1 at install)
        return None
    return native


_NATIVE_STAT_PATHS = _native()
NATIVE = _NATIVE_STAT_PATHS is not None
"""Whether ``stat_paths`` is the C extension."""

stat_paths: Callable[[bytes], bytes | None] = _NATIVE_STAT_PATHS or _stat_paths_python
"""The packed stats of a ``join_paths`` blob; None when any path cannot be stat'ed."""


def stat_many(paths: bytes, threads: int) -> bytes | None:
    """``stat_paths`` of a blob cut in ``threads`` pieces: this thread takes the first, new
    threads the others (the extension lets them run at once). A thread that took the first
    piece while this one waited would often share this CPU for milliseconds before the
    kernel moved it. Without the extension, one piece: ``os.stat`` holds the GIL.

    Raises:
        Whatever ``stat_paths`` raised (MemoryError).
    """
    pieces = _split(paths, threads) if NATIVE and threads > 1 and paths else [paths]
    if len(pieces) == 1:
        return stat_paths(paths)
    results: list[bytes | None] = [None] * len(pieces)
    failures: list[BaseException] = []
    locks = []

    def work(i: int, lock: Any) -> None:
        try:
            results[i] = stat_paths(pieces[i])
        except BaseException as err:  # noqa: BLE001 - raised again in the caller's thread
            failures.append(err)
        finally:
            lock.release()

    for i in range(1, len(pieces)):
        lock = _thread.allocate_lock()
        lock.acquire()
        locks.append(lock)
        _thread.start_new_thread(work, (i, lock))
    results[0] = stat_paths(pieces[0])
    for lock in locks:
        lock.acquire()
    if failures:
        raise failures[0]
    if any(result is None for result in results):
        return None
    return b"".join(result for result in results if result is not None)


def _split(paths: bytes, parts: int) -> list[bytes]:
    """The blob cut into about equal pieces, each at a path's end."""
    pieces: list[bytes] = []
    start = 0
    for k in range(1, parts):
        cut = paths.find(b"\0", max(start, len(paths) * k // parts - 1))
        if cut < 0 or cut + 1 >= len(paths):
            break
        pieces.append(paths[start : cut + 1])
        start = cut + 1
    pieces.append(paths[start:])
    return pieces


def default_threads() -> int:
    """How many threads ``stat_many`` should use here: the CPUs, at most four."""
    return max(1, min(4, os.cpu_count() or 1))
