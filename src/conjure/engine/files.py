"""File digests with a stat fast path, hashed at most once per run.

A file's digest is trusted from the state when its (size, mtime_ns, inode) match what was
recorded. When they do not (fresh clone, cache restore, ``touch``), the file is re-hashed and
the new stat is recorded, so the next run is back on the fast path even if the content did
not change. A stat that is too recent to be trusted (the file could change again within the
file system's timestamp granularity, as git's "racily clean" entries) is recorded with an
impossible mtime, so the next run hashes it once more.

How recent is too recent depends on the timestamps: a file system with sub-second
timestamps (ext4, XFS, btrfs, APFS, NTFS) stamps writes from a clock that ticks every few
milliseconds, so a write after the file was read gets a later mtime once ``FINE_RACY_SECONDS``
have passed; a whole-second mtime (FAT, HFS+, ext3, or times set by ``tar``/``touch -d``)
gets the conservative ``RACY_SECONDS``.
"""

from __future__ import annotations

import os
import stat as stat_mod
import time
from collections.abc import Iterable

from conjure.engine.hashing import Digester

MISSING = ""
"""Digest of a path that does not exist."""

RACY_SECONDS = 2.0
"""Racy window for whole-second timestamps (FAT stores even seconds)."""

FINE_RACY_SECONDS = 0.1
"""Racy window for sub-second timestamps: well above a 10 ms clock tick (HZ=100) and
Windows' 15.6 ms timer."""
SKIPPED_DIRS = frozenset({".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})

UNSETTLED = (-1, -1, -1)
"""A stat no file has: kept for a file whose stat is too recent to trust."""

FileRow = tuple[int, int, int, str]
"""(size, mtime_ns, inode, digest) as stored in the state."""


class FileIndex:
    """Digests of files and directory trees, relative to the project root (the cwd).

    Args:
        digester: the hash to use.
        rows: stat rows recorded by earlier runs, by relative path.
        root: absolute project root; paths under it are stored relative to it.
    """

    def __init__(self, digester: Digester, rows: dict[str, FileRow], root: str) -> None:
        self.digester = digester
        self._rows = rows
        self._root = root.rstrip(os.sep) + os.sep
        self._memo: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._seen: dict[str, tuple[int, int, int]] = {}
        self._folders: set[str] | None = None
        """Every folder above a memoized path, kept from the first ``forget`` on (a run that
        writes nothing never pays for it)."""
        self.dirty: dict[str, FileRow] = {}
        self.hashed = 0

    def key(self, path: str) -> str:
        """The canonical key of a path: relative to the root when under it, normalized."""
        key = self._keys.get(path)
        if key is None:
            key = path
            if path.startswith(("/", "./")) or "/." in path or "//" in path or path.endswith("/"):
                key = os.path.normpath(path)
            if key.startswith(self._root):
                key = key[len(self._root) :]
            self._keys[path] = key
        return key

    def digest(self, key: str) -> str:
        """The content digest of a canonical path (``MISSING`` when it does not exist).

        Raises:
            OSError: the path exists but cannot be read.
        """
        found = self._memo.get(key)
        if found is not None:
            return found
        try:
            st = os.stat(key)
        except (FileNotFoundError, NotADirectoryError):
            self._remember(key, MISSING)
            return MISSING
        if stat_mod.S_ISDIR(st.st_mode):
            found = self._tree_digest(key)
        else:
            found = self._file_digest(key, st)
            self._seen[key] = (st.st_size, st.st_mtime_ns, st.st_ino)
        self._remember(key, found)
        return found

    def _remember(self, key: str, digest: str) -> None:
        self._memo[key] = digest
        if self._folders is not None:
            _add_folders(self._folders, key)

    def forget(self, keys: Iterable[str]) -> None:
        """Drops memoized digests of paths a task just wrote: the path's own, its folders'
        (a tree digest, or "missing", is out of date too) and, for a folder, those of the
        paths under it. The cost follows the paths written, not the paths memoized.
        """
        if self._folders is None:
            self._folders = set()
            for key in self._memo:
                _add_folders(self._folders, key)
        for key in keys:
            self._drop(key)
            end = key.rfind(os.sep)
            while end > 0:
                self._drop(key[:end])
                end = key.rfind(os.sep, 0, end)
            if key in self._folders:  # something under it was read (rare: folder targets)
                prefix = key + os.sep
                for other in [k for k in self._memo if k.startswith(prefix)]:
                    self._drop(other)

    def _drop(self, key: str) -> None:
        self._memo.pop(key, None)
        self._seen.pop(key, None)

    def trust(self, key: str, digest: str, stat: tuple[int, int, int] | None = None) -> None:
        """Records a digest for a file this run just wrote from verified content (a cache
        restore), so it is not hashed again, nor looked at again in this run.

        Args:
            key: the file's canonical path.
            digest: its verified digest.
            stat: its (size, mtime_ns, inode) when the verified content was put there;
                read from the file now when not given. The stored stat follows the racy
                rule.
        """
        if stat is None:
            try:
                st = os.stat(key)
            except OSError:
                return
            stat = (st.st_size, st.st_mtime_ns, st.st_ino)
        self._rows[key] = (*stat, digest)
        self.dirty[key] = stored_row(stat, digest)
        self._seen[key] = stat
        self._remember(key, digest)

    def learn(self, key: str, stat: tuple[int, int, int], digest: str) -> None:
        """Takes a digest someone just computed for a file with this stat (the no-op path's
        fallback), so it is neither hashed again nor forgotten."""
        row = stored_row(stat, digest)
        self._rows[key] = (*stat, digest)
        self.dirty[key] = row

    def snapshot_entry(self, key: str) -> tuple[tuple[int, int, int], str] | None:
        """What the no-op snapshot keeps for a file: the stat to compare next time (or
        ``UNSETTLED``, which never matches, for a stat too recent to trust) and its digest;
        None when this run digested no regular file there."""
        row = self._rows.get(key)
        if row is None or key not in self._seen or self._memo.get(key) != row[3]:
            return None
        return self.settled_stat(key) or UNSETTLED, row[3]

    def settled_stat(self, key: str) -> tuple[int, int, int] | None:
        """A regular file's (size, mtime_ns, inode) as this run digested it, when its row
        holds that stat and it is old enough to trust; None otherwise (racy, a directory,
        not digested). A change after the digest gives the file a later mtime."""
        row = self._rows.get(key)
        found = self._seen.get(key)
        if row is None or found is None or found != row[:3] or is_racy(found[1], time.time()):
            return None
        return found

    def _file_digest(self, key: str, st: os.stat_result) -> str:
        row = self._rows.get(key)
        if (
            row is not None
            and row[0] == st.st_size
            and row[1] == st.st_mtime_ns
            and row[2] == st.st_ino
        ):
            return row[3]
        digest = self.digester.of_file(key, st.st_size)
        self.hashed += 1
        new_row = _stored_row(st, digest)
        self._rows[key] = new_row
        self.dirty[key] = new_row
        return digest

    def _tree_digest(self, key: str) -> str:
        """Digest of a directory: sorted entries with their kind, exec bit and digest."""
        lines = []
        for rel, kind, extra in sorted(self._walk(key)):
            lines.append(f"{rel}\0{kind}\0{extra}")
        return self.digester.of_text("\n".join(lines))

    def _walk(self, top: str) -> Iterable[tuple[str, str, str]]:
        stack = [top]
        while stack:
            folder = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    path = os.path.join(folder, entry.name)
                    rel = os.path.relpath(path, top)
                    if entry.is_symlink():
                        yield rel, "link", os.readlink(path)
                    elif entry.is_dir():
                        if entry.name not in SKIPPED_DIRS:
                            stack.append(path)
                    else:
                        st = entry.stat()
                        executable = "x" if st.st_mode & stat_mod.S_IXUSR else "-"
                        yield rel, "file" + executable, self._file_digest(path, st)


def _add_folders(folders: set[str], key: str) -> None:
    """Adds the folders above ``key`` (up to the first one already there)."""
    end = key.rfind(os.sep)
    while end > 0:
        folder = key[:end]
        if folder in folders:
            return
        folders.add(folder)
        end = key.rfind(os.sep, 0, end)


def _stored_row(st: os.stat_result, digest: str) -> FileRow:
    return stored_row((st.st_size, st.st_mtime_ns, st.st_ino), digest)


def stored_row(stat: tuple[int, int, int], digest: str) -> FileRow:
    """The row to store for a file: its (size, mtime_ns, inode), but an impossible mtime when
    the stat is too recent to be trusted (it could change again within the timestamp
    granularity)."""
    size, mtime, inode = stat
    return (size, -1 if is_racy(mtime, time.time()) else mtime, inode, digest)


def is_racy(mtime_ns: int, now: float) -> bool:
    """Whether a file with this mtime could still change without its mtime moving.

    Args:
        mtime_ns: the file's mtime.
        now: the time the file is being read (Unix seconds).
    """
    window = RACY_SECONDS if mtime_ns % 1_000_000_000 == 0 else FINE_RACY_SECONDS
    return now - mtime_ns / 1e9 < window
