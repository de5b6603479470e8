"""The stats of many files at once, packed: how the no-op path checks every file dependency.

A list of paths travels as one bytes object, each path NUL-terminated (``join_paths``), and
their stats come back as one bytes object, three native uint64 per file: size, mtime_ns and
inode, each modulo 2**64 (``pack``). Two such blobs compare in one ``==``.

``stat_paths`` and ``StatJob`` use the C extension ``conjure.engine._filestats`` when it was
built (see ``hatch_build.py``): only the system calls, without the GIL, about twice as fast
as ``os.stat``; a ``StatJob`` takes them on helper threads while the caller goes on. Without
the extension, the same function in Python gives the same bytes.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable
from itertools import chain
from types import ModuleType

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


def _load_native() -> ModuleType | None:
    if os.environ.get("CONJURE_PURE_PYTHON"):  # the same bytes the slow way (tests, comparison)
        return None
    try:
        from conjure.engine import _filestats
    except ImportError:  # not built here (no compiler, or CONJURE_NO_EXTENSION=1 at install)
        return None
    return _filestats


_native = _load_native()
NATIVE = _native is not None
"""Whether ``stat_paths`` is the C extension."""


def stat_paths(paths: bytes) -> bytes | None:
    """The packed stats of a ``join_paths`` blob, on this thread; None when any path cannot
    be stat'ed.

    Raises:
        ValueError: the blob does not end with a NUL byte.
    """
    if _native is None:
        return _stat_paths_python(paths)
    found: bytes | None = _native.finish(_native.start(paths, 0))
    return found


class StatJob:
    """The stats of a blob, taken from now on by the extension's helper threads (plain
    threads that never wait for the GIL) while the caller goes on with Python work;
    ``result`` joins in on what is left and collects them. Without the extension,
    ``result`` takes them all itself: ``os.stat`` holds the GIL.

    Args:
        paths: a ``join_paths`` blob.
        threads: how many threads take stats, counting the one that calls ``result``.
    """

    def __init__(self, paths: bytes, threads: int) -> None:
        self._paths = paths
        self._job = _native.start(paths, threads - 1) if _native is not None and paths else None

    def result(self) -> bytes | None:
        """The packed stats; None when any path cannot be stat'ed (or after ``cancel``)."""
        if _native is None or self._job is None:
            return stat_paths(self._paths)
        found: bytes | None = _native.finish(self._job)
        return found

    def cancel(self) -> None:
        """Stops the helpers (after the paths they are on) and waits for them."""
        if _native is not None and self._job is not None:
            _native.cancel(self._job)


def default_threads() -> int:
    """How many threads a ``StatJob`` should use here: the CPUs, at most four."""
    return max(1, min(4, os.cpu_count() or 1))
