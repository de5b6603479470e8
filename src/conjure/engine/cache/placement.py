"""The restore's data path: verified copies of blobs, put under their final names atomically.

One pass of verification per restored file, on the bytes that will be kept: the blob is
copied with ``copy_file_range`` (inside the kernel: no bytes pass through Python) into an
unnamed file (``O_TMPFILE``) in the target's own folder, and the *copy* is hashed (read back
from the page cache). Only a copy whose digest and size match is given a name: a link straight
to the target when there is none, else a temporary name renamed over it. So:

- what appears under a target's name is exactly what was verified, whole: a reader never sees
  half a file, and a corrupt or truncated blob is never put in place;
- a process killed mid-copy leaves nothing behind (the unnamed file goes with its
  descriptor); where ``O_TMPFILE`` or ``/proc/self/fd`` is missing (not Linux, some file
  systems), a named ``.NAME.conjure-PID-N`` file is used instead, which a kill can leave
  behind (never under the target's name);
- a fresh target costs one file creation, as ``cp`` does.

``copy_file_range`` falls back to ``sendfile`` (across file systems) and then to
``pread``/``pwrite``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from conjure.engine.hashing import hasher_factory

_CHUNK = 1 << 20
_THREADS_FROM = 8 << 20
"""BLAKE3 hashes copies at least this big on several threads."""
_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOSYS)
_UNSUPPORTED = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSOCK)
_names = itertools.count()
_buffers: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
"""Read buffers of ``_CHUNK`` bytes, reused by every thread (as many as ever hashed at once):
a fresh megabyte per file would cost its page faults every time."""

RESTORE_THREADS = 4
"""Threads that copy and verify restored files, shared by every task of a run (copying and
hashing release the GIL). On 2 CPUs, 4 was as fast as 0 or 2 with files in the page cache
and the fastest with files on disk (docs/benchmarks.md, "Output cache")."""

T = TypeVar("T")


class CopyMismatch(Exception):  # noqa: N818 - an outcome the caller turns into a miss
    """The copy of a blob does not have the expected size or digest (the blob is suspect)."""


@dataclass
class Staged:
    """A verified copy that has no final name yet.

    Attributes:
        path: the target it is for.
        fd: an open descriptor of the copy (-1 once closed: a named copy is closed when
            verified).
        tmp: its temporary name, or None for an unnamed (``O_TMPFILE``) file.
        stat: its (size, mtime_ns, inode) once verified: what it keeps under its final name
            (a link or a rename changes neither).
    """

    path: str
    fd: int
    tmp: str | None
    stat: tuple[int, int, int] = (0, 0, 0)


class Placer:
    """Stages verified copies and gives them their names; safe to use from many threads.

    Args:
        algorithm: the digest algorithm of the blobs (``blake3`` or ``sha256``).
    """

    def __init__(self, algorithm: str) -> None:
        # Any: the hash objects take any buffer (memoryview slices), not only bytes
        self._new: Callable[[], Any] = hasher_factory(algorithm)
        self._big: Callable[[], Any] = self._new
        if algorithm == "blake3":
            from blake3 import blake3

            self._big = lambda: blake3(max_threads=blake3.AUTO)
        self._pid = os.getpid()
        self._proc_fd = _open_proc_fd()
        self._unnamed = self._proc_fd is not None

    def stage(
        self, blob: str, path: str, size: int, mode: int, digest: str, named: bool = False
    ) -> Staged:
        """Copies a blob next to ``path`` and checks the copy; ``path`` is not touched.

        An unnamed copy keeps a file descriptor open until it is committed; ``named`` makes a
        named temporary file instead, closed at once (for entries with many files, which
        would otherwise hold that many descriptors).

        Raises:
            FileNotFoundError: the blob is missing.
            CopyMismatch: the copy's size or digest differs from ``size``/``digest``.
            OSError: the copy cannot be made (the folder is missing, the disk is full...).
        """
        src = os.open(blob, os.O_RDONLY)
        try:
            if os.fstat(src).st_size != size:
                raise CopyMismatch(path)
            staged = self._create(path, named)
            try:
                if _copy(src, staged.fd, size) != size or self._digest(staged.fd, size) != digest:
                    raise CopyMismatch(path)
                os.fchmod(staged.fd, mode)
                st = os.fstat(staged.fd)
                staged.stat = (st.st_size, st.st_mtime_ns, st.st_ino)
                if staged.tmp is not None:
                    os.close(staged.fd)
                    staged.fd = -1
            except BaseException:
                self.discard(staged)
                raise
        finally:
            os.close(src)
        return staged

    def commit(self, staged: Staged) -> None:
        """Gives a staged copy its final name (replacing a file there) and closes it."""
        try:
            if staged.tmp is not None:
                os.replace(staged.tmp, staged.path)
                staged.tmp = None
                return
            try:
                os.link(str(staged.fd), staged.path, src_dir_fd=self._proc_fd)
            except FileExistsError:
                tmp = _tmp_name(staged.path)
                os.link(str(staged.fd), tmp, src_dir_fd=self._proc_fd)
                staged.tmp = tmp
                os.replace(tmp, staged.path)
                staged.tmp = None
        finally:
            self.discard(staged)

    def discard(self, staged: Staged) -> None:
        """Closes a staged copy and removes its temporary name; a no-op the second time."""
        if staged.fd >= 0:
            os.close(staged.fd)
            staged.fd = -1
        if staged.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged.tmp)
            staged.tmp = None

    def _create(self, path: str, named: bool) -> Staged:
        if self._pid != os.getpid():  # a forked child: /proc/self/fd was opened as the parent's
            self._pid, self._proc_fd = os.getpid(), _open_proc_fd()
            self._unnamed = self._proc_fd is not None
        if self._unnamed and not named:
            folder = os.path.dirname(path) or "."
            try:
                return Staged(path, os.open(folder, os.O_RDWR | os.O_TMPFILE, 0o600), None)
            except OSError as err:
                if err.errno not in _NO_TMPFILE:
                    raise
                self._unnamed = False  # this file system cannot: named files from now on
        tmp = _tmp_name(path)
        return Staged(path, os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), tmp)

    def _digest(self, fd: int, size: int) -> str:
        """Digest of the first ``size`` bytes of an open file (fewer if it is shorter).

        Read into a reused buffer rather than memory-mapped: no ``SIGBUS`` if the file
        shrinks, and no map/unmap per file (which stalls every thread of the process).
        """
        h = self._big() if size >= _THREADS_FROM else self._new()
        try:
            view = _buffers.get_nowait()
        except queue.Empty:
            view = memoryview(bytearray(_CHUNK))
        try:
            done = 0
            while done < size:
                got = os.preadv(fd, [view[: min(_CHUNK, size - done)]], done)
                if got == 0:
                    break
                h.update(view[:got])
                done += got
        finally:
            _buffers.put(view)
        return str(h.hexdigest())


@functools.cache
def placer(algorithm: str) -> Placer:
    """The process's placer for an algorithm (it holds one ``/proc/self/fd`` descriptor)."""
    return Placer(algorithm)


class _Threads:
    """The restore threads: ``RESTORE_THREADS`` daemon threads fed by one queue, started on
    first use (again in a forked child, which has none of its parent's threads).

    Lighter than ``concurrent.futures``, whose import (``logging`` with it) cost 5 ms on
    every run that restores, and which makes a future (a condition variable) per job.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        """Runs ``job`` on a restore thread; ``job`` must not raise."""
        jobs = self._jobs
        if jobs is None:
            with self._lock:
                if self._jobs is None:
                    self._jobs = queue.SimpleQueue()
                    for number in range(RESTORE_THREADS):
                        threading.Thread(
                            target=_serve,
                            args=(self._jobs,),
                            name=f"conjure-restore-{number}",
                            daemon=True,
                        ).start()
                jobs = self._jobs
        jobs.put(job)

    def forked(self) -> None:
        """In a forked child: the threads (and maybe a lock's holder) stayed in the parent."""
        self._jobs, self._lock = None, threading.Lock()


def _serve(jobs: queue.SimpleQueue[Callable[[], None]]) -> None:
    while True:
        jobs.get()()


_threads = _Threads()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_threads.forked)


def run_all(fn: Callable[..., T], jobs: Sequence[tuple[Any, ...]]) -> list[T | BaseException]:
    """Calls ``fn(*job)`` for every job and waits for all of them: the first job on the
    caller's thread, the others on the restore threads meanwhile.

    Returns:
        Each job's result or the exception it raised, in the order of ``jobs``.
    """
    outcomes: list[Any] = [None] * len(jobs)
    left = len(jobs) - 1
    count = threading.Lock()
    finished = threading.Lock()  # held until the last job on a restore thread is done
    finished.acquire()

    def run(index: int) -> None:
        nonlocal left
        try:
            outcomes[index] = fn(*jobs[index])
        except BaseException as err:  # noqa: BLE001 - handed back to the caller
            outcomes[index] = err
        with count:
            left -= 1
            last = left == 0
        if last:
            finished.release()

    for index in range(1, len(jobs)):
        _threads.submit(functools.partial(run, index))
    if jobs:
        try:
            outcomes[0] = fn(*jobs[0])
        except Exception as err:  # noqa: BLE001 - handed back like the other jobs' errors
            outcomes[0] = err
    if len(jobs) > 1:
        finished.acquire()
    return outcomes


def _open_proc_fd() -> int | None:
    """A descriptor of ``/proc/self/fd`` (to link unnamed files), or None when unusable."""
    if not hasattr(os, "O_TMPFILE"):
        return None
    try:
        return os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None


def _tmp_name(path: str) -> str:
    head, name = os.path.split(path)
    return os.path.join(head, f".{name}.conjure-{os.getpid()}-{next(_names)}")


def _copy(src: int, dst: int, size: int) -> int:
    """Copies ``size`` bytes from the start of ``src`` to the start of ``dst``: in the kernel
    with ``copy_file_range``, else ``sendfile`` (Linux: also across file systems), else
    ``pread``/``pwrite``.

    Returns:
        The bytes copied: fewer than ``size`` when ``src`` is shorter.

    Raises:
        OSError: a read or write failed (not merely "this way of copying is unsupported").
    """
    done = 0
    if hasattr(os, "copy_file_range"):
        done, finished = _in_kernel(
            lambda at, count: os.copy_file_range(src, dst, count, at, at), done, size
        )
        if finished:
            return done
    if hasattr(os, "sendfile"):
        os.lseek(dst, done, os.SEEK_SET)  # sendfile writes at the file position
        done, finished = _in_kernel(lambda at, count: os.sendfile(dst, src, at, count), done, size)
        if finished:
            return done
    while done < size:
        data = os.pread(src, min(_CHUNK, size - done), done)
        if not data:
            break
        done += os.pwrite(dst, data, done)
    return done


def _in_kernel(step: Callable[[int, int], int], done: int, size: int) -> tuple[int, bool]:
    """Repeats ``step(offset, count)`` (bytes moved, 0 at the end of the source) up to
    ``size``; returns the offset reached and False when the kernel or the file system
    refused this way of copying."""
    while done < size:
        try:
            moved = step(done, size - done)
        except OSError as err:
            if err.errno in _UNSUPPORTED:
                return done, False
            raise
        if moved == 0:
            break
        done += moved
    return done, True
