"""The local content-addressed output cache: blobs by digest, a manifest per task key.

Layout under the cache folder (``cache/`` by default)::

    cas/<d[:2]>/<digest>      file contents (blobs), named by their digest
    ac/<k[:2]>/<key>.json     manifests: a task key's outputs, log, exit status, values
    corrupt/                  blobs and manifests found damaged, set aside for a person
    tmp/                      temporary files, renamed into place when complete

Every write goes to ``tmp/`` first and is renamed into place: a reader sees a whole blob or
manifest, or none. A blob is trusted only after its digest is checked, at restore time, on
the copy that is put in place (``placement.py``): a flipped or truncated blob is moved to
``corrupt/`` and the restore fails before any target is replaced (the task then runs for
real). A manifest's modification time is its last use (for least-recently-used pruning).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat as stat_mod
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conjure.engine.cache.placement import CopyMismatch, Staged, placer, run_all
from conjure.engine.hashing import Digester

MANIFEST_VERSION = 1
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
"""A blob's name: 64 lowercase hex digits (BLAKE3 and SHA-256 alike)."""
OPEN_COPIES = 64
"""Verified copies of one entry held as unnamed open files before they get their names; the
files after these get named temporary files (a directory target can hold thousands)."""
FILE, DIR, SYMLINK = "file", "dir", "symlink"


class CacheMiss(Exception):  # noqa: N818 - a normal outcome, not an error
    """An entry cannot be used: absent, damaged, or a blob is missing or corrupt.

    Attributes:
        note: a one-line explanation for the user, or "" for an ordinary miss.
    """

    def __init__(self, note: str = "") -> None:
        super().__init__(note)
        self.note = note


@dataclass
class Manifest:
    """What a task key produced.

    Attributes:
        key: the task key.
        task: the task's name when it was stored.
        targets: the declared targets (relative paths).
        entries: one per output file, directory or symlink: ``path``, ``type`` and
            ``digest``/``size``/``mode`` (files), ``mode`` (dirs), ``target`` (symlinks).
        log: digest of the captured output blob ("" when there was none).
        exit_code: the task's exit status (0: manifests are only stored for successes).
        duration: seconds the task took when it really ran.
        values: values its Python actions saved (doit's ``getargs``).
        result: its result digest (doit's ``result_dep``), if any.
        parts: the parts of the key, for explaining a miss.
        algorithm: the digest algorithm of every digest in it.
    """

    key: str
    task: str
    targets: list[str]
    entries: list[dict[str, Any]]
    log: str = ""
    exit_code: int = 0
    duration: float = 0.0
    values: dict[str, Any] = field(default_factory=dict)
    result: str | None = None
    parts: dict[str, Any] = field(default_factory=dict)
    algorithm: str = "blake3"

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): the same entry is the same bytes everywhere."""
        data = {"version": MANIFEST_VERSION, **self.__dict__}
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parses a manifest.

        Raises:
            CacheMiss: not a manifest of this version.
        """
        try:
            data = json.loads(text)
            if data.pop("version") != MANIFEST_VERSION:
                raise CacheMiss("cache entry of another conjure version")
            manifest = cls(**data)
        except CacheMiss:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise CacheMiss(f"damaged cache manifest ({type(err).__name__})") from None
        for entry in manifest.entries:
            _check_entry(entry)
        if manifest.log:
            _check_digest(manifest.log)
        return manifest

    def blobs(self) -> set[str]:
        """Digests of every blob it refers to (its files and its log)."""
        found = {e["digest"] for e in self.entries if e["type"] == FILE}
        if self.log:
            found.add(self.log)
        return found


def _check_entry(entry: dict[str, Any]) -> None:
    """Refuses an entry that could reach outside the project or the store (a manifest may
    come from a remote cache)."""
    path = entry.get("path")
    if not isinstance(path, str) or not path or path.startswith("/"):
        raise CacheMiss(f"cache manifest has an invalid path {path!r}")
    if ".." in path.split("/"):
        raise CacheMiss(f"cache manifest has a path outside the project: {path!r}")
    kind = entry.get("type")
    if kind == FILE:
        _check_digest(entry.get("digest"))
    numbers = {FILE: ("size", "mode"), DIR: ("mode",), SYMLINK: ()}.get(str(kind))
    if numbers is None or (kind == SYMLINK and not isinstance(entry.get("target"), str)):
        raise CacheMiss(f"cache manifest has an invalid entry for {path!r}")
    if not all(isinstance(entry.get(k), int) and entry[k] >= 0 for k in numbers):
        raise CacheMiss(f"cache manifest has an invalid size or mode for {path!r}")


def _check_digest(digest: object) -> None:
    if not isinstance(digest, str) or _HEX_DIGEST.fullmatch(digest) is None:
        raise CacheMiss(f"cache manifest has an invalid digest {str(digest)[:20]!r}")


class LocalCache:
    """Blobs and manifests in one folder.

    Args:
        folder: the cache folder (``cache/``).
        root: the project root; manifest paths are relative to it.
        digester: the digest algorithm of blobs.
    """

    def __init__(self, folder: Path, root: Path, digester: Digester) -> None:
        self.folder = folder
        self.root = root
        self.digester = digester
        self.cas = folder / "cas"
        self.ac = folder / "ac"
        self.tmp = folder / "tmp"
        self._root = str(root)

    # blobs ------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """Where the blob of a digest lives (it may not exist)."""
        return self.cas / digest[:2] / digest

    def has_blob(self, digest: str) -> bool:
        """Whether the blob exists (not checked)."""
        return self.blob_path(digest).exists()

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copies a file into the store; returns its digest and size.

        The digest is taken of the copy, so what is stored is what the digest says.
        """
        tmp = self.tmp_file()
        try:
            shutil.copyfile(source, tmp)
            size = tmp.stat().st_size
            digest = self.digester.of_file(str(tmp), size)
            self._place(tmp, self.blob_path(digest))
        finally:
            tmp.unlink(missing_ok=True)
        return digest, size

    def put_bytes(self, data: bytes) -> str:
        """Stores bytes as a blob; returns the digest."""
        digest = self.digester.of_bytes(data)
        if not self.has_blob(digest):
            tmp = self.tmp_file()
            try:
                tmp.write_bytes(data)
                self._place(tmp, self.blob_path(digest))
            finally:
                tmp.unlink(missing_ok=True)
        return digest

    def adopt_blob(self, tmp: Path, digest: str) -> None:
        """Moves a downloaded file into place after checking its digest.

        Raises:
            CacheMiss: its content does not match the digest.
        """
        actual = self.digester.of_file(str(tmp), tmp.stat().st_size)
        if actual != digest:
            raise CacheMiss(f"blob {digest[:12]} has the wrong content ({actual[:12]})")
        self._place(tmp, self.blob_path(digest))

    def verified_blob(self, digest: str) -> Path:
        """The blob's path after checking its content; a damaged blob is set aside.

        Raises:
            CacheMiss: missing or damaged.
        """
        path = self.blob_path(digest)
        try:
            actual = self.digester.of_file(str(path), path.stat().st_size)
        except FileNotFoundError:
            raise CacheMiss(f"cache blob {digest[:12]} is missing") from None
        if actual != digest:
            aside = self.set_aside(path)
            raise CacheMiss(f"cache blob {digest[:12]} is corrupt; moved it to {aside}")
        return path

    def read_blob(self, digest: str) -> bytes:
        """A verified blob's bytes (read once, checked in memory).

        Raises:
            CacheMiss: missing or damaged (a damaged blob is set aside).
        """
        path = self.blob_path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CacheMiss(f"cache blob {digest[:12]} is missing") from None
        if self.digester.of_bytes(data) != digest:
            raise self._bad_blob(digest)
        return data

    def _bad_blob(self, digest: str) -> CacheMiss:
        """The miss to raise for a blob whose content (or copy) did not match its digest.

        The blob itself is checked again: a damaged one is set aside; an intact one whose
        copy came out wrong (the disk, a concurrent writer) stays.
        """
        path = self.blob_path(digest)
        try:
            actual = self.digester.of_file(str(path), path.stat().st_size)
        except FileNotFoundError:
            return CacheMiss(f"cache blob {digest[:12]} is missing")
        if actual == digest:
            return CacheMiss(f"cache blob {digest[:12]} could not be copied intact")
        aside = self.set_aside(path)
        return CacheMiss(f"cache blob {digest[:12]} is corrupt; moved it to {aside}")

    def _place(self, tmp: Path, final: Path) -> None:
        if final.exists():
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)

    def tmp_file(self) -> Path:
        """A new empty file in ``tmp/`` (same file system as the store, for renames)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="part-")
        os.close(fd)
        return Path(name)

    def set_aside(self, path: Path) -> str:
        """Moves a damaged blob or manifest to ``corrupt/``; returns where (relative)."""
        aside = self.folder / "corrupt" / f"{path.name}.{int(time.time() * 1000)}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, aside)
        try:
            return str(aside.relative_to(self.root))
        except ValueError:
            return str(aside)

    # manifests --------------------------------------------------------------------------

    def manifest_path(self, key: str) -> Path:
        """Where a key's manifest lives (it may not exist)."""
        return self.ac / key[:2] / f"{key}.json"

    def lookup(self, key: str) -> Manifest | None:
        """The manifest of a key, or None; marks it used (for pruning).

        Raises:
            CacheMiss: the manifest is damaged (it was set aside).
        """
        path = self.manifest_path(key)
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            manifest = Manifest.from_json(text)
        except CacheMiss as miss:
            aside = self.set_aside(path)
            raise CacheMiss(f"{miss.note}; moved it to {aside}") from None
        if manifest.key != key:
            aside = self.set_aside(path)
            raise CacheMiss(f"cache manifest {key[:12]} names another key; moved it to {aside}")
        _touch(path)
        return manifest

    def write_manifest(self, manifest: Manifest) -> None:
        """Stores a manifest atomically (the last writer of a key wins; both are whole)."""
        self.write_manifest_bytes(manifest.key, manifest.to_json().encode())

    def write_manifest_bytes(self, key: str, data: bytes) -> None:
        """Stores manifest bytes (already checked) atomically."""
        tmp = self.tmp_file()
        try:
            tmp.write_bytes(data)
            final = self.manifest_path(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def manifests(self) -> Iterator[Path]:
        """Every manifest file."""
        if self.ac.is_dir():
            yield from sorted(self.ac.glob("*/*.json"))

    def blob_files(self) -> Iterator[Path]:
        """Every blob file."""
        if self.cas.is_dir():
            yield from self.cas.glob("*/*")

    # snapshots and restores ----------------------------------------------------------------

    def snapshot(self, targets: list[str]) -> list[dict[str, Any]]:
        """Stores every declared target (files, directory trees, symlinks) as blobs.

        Returns:
            The manifest entries, sorted by path.

        Raises:
            FileNotFoundError: a target does not exist.
        """
        entries: list[dict[str, Any]] = []
        for target in targets:
            self._snapshot_path(target, entries)
        entries.sort(key=lambda e: e["path"])
        return entries

    def _snapshot_path(self, relative: str, entries: list[dict[str, Any]]) -> None:
        path = self.root / relative
        info = path.lstat()
        mode = stat_mod.S_IMODE(info.st_mode)
        if stat_mod.S_ISLNK(info.st_mode):
            entries.append({"path": relative, "type": SYMLINK, "target": os.readlink(path)})
        elif stat_mod.S_ISDIR(info.st_mode):
            entries.append({"path": relative, "type": DIR, "mode": mode})
            for child in sorted(os.listdir(path)):
                self._snapshot_path(f"{relative}/{child}", entries)
        else:
            digest, size = self.put_file(path)
            entries.append(
                {"path": relative, "type": FILE, "digest": digest, "size": size, "mode": mode}
            )

    def restore(self, manifest: Manifest) -> dict[str, tuple[int, int, int] | None]:
        """Puts a manifest's outputs back, byte-identical with their modes.

        Two phases. First each file that is missing or differs is copied next to its target
        and the copy is verified against its digest (the files of one entry in parallel:
        copying and hashing release the GIL); meanwhile only folders are made (the missing
        parents of targets, the declared folders with their modes). Then, when every copy
        is good, the copies get their names, symlinks are made, and inside a restored
        directory target whatever the entry does not list is removed (the directory is the
        task's output). Files that already match are left alone.

        Returns:
            The paths written, each with the (size, mtime_ns, inode) its verified copy has
            (None for a symlink).

        Raises:
            CacheMiss: a blob is missing or corrupt (corrupt ones are set aside); no file in
                the project was replaced or removed.
            OSError: the project cannot be written.
        """
        staged = self._stage(manifest)
        try:
            return self._put_in_place(manifest, staged)
        finally:
            for copy, _ in staged.values():
                placer(self.digester.algorithm).discard(copy)

    def _stage(self, manifest: Manifest) -> dict[str, tuple[Staged, bool]]:
        """Makes folders and verified copies of every file that needs writing, by path."""
        jobs: list[tuple[dict[str, Any], str, bool]] = []
        made: set[str] = set()
        for entry in manifest.entries:
            path = os.path.join(self._root, entry["path"])
            if entry["type"] == DIR:
                _make_dir(Path(path), entry["mode"])
                made.add(path)
            elif entry["type"] == FILE:
                parent = os.path.dirname(path)
                if parent not in made:
                    os.makedirs(parent, exist_ok=True)
                    made.add(parent)
                jobs.append((entry, path, len(jobs) >= OPEN_COPIES))
        staged: dict[str, tuple[Staged, bool]] = {}
        failure: BaseException | None = None
        for (entry, *_), outcome in zip(jobs, run_all(self._stage_file, jobs), strict=True):
            if isinstance(outcome, BaseException):
                failure = failure or outcome
            elif outcome is not None:
                staged[entry["path"]] = outcome
        if failure is not None:
            for copy, _ in staged.values():
                placer(self.digester.algorithm).discard(copy)
            raise failure
        return staged

    def _stage_file(
        self, entry: dict[str, Any], path: str, named: bool
    ) -> tuple[Staged, bool] | None:
        """A verified copy for ``path`` and whether a directory is in its way; None when
        the file there already matches."""
        try:
            info: os.stat_result | None = os.lstat(path)
        except FileNotFoundError:
            info = None
        if info is not None and self._matches(path, info, entry):
            return None
        digest = entry["digest"]
        blob = str(self.blob_path(digest))
        try:
            copy = placer(self.digester.algorithm).stage(
                blob, path, entry["size"], entry["mode"], digest, named
            )
        except CopyMismatch:
            raise self._bad_blob(digest) from None
        except FileNotFoundError:
            if os.path.exists(blob):
                raise
            raise CacheMiss(f"cache blob {digest[:12]} is missing") from None
        return copy, info is not None and stat_mod.S_ISDIR(info.st_mode)

    def _put_in_place(
        self, manifest: Manifest, staged: dict[str, tuple[Staged, bool]]
    ) -> dict[str, tuple[int, int, int] | None]:
        """Names the verified copies, makes symlinks, removes what directory targets do not
        list; returns the paths written (see ``restore``)."""
        written: dict[str, tuple[int, int, int] | None] = {}
        for entry in manifest.entries:
            relative = entry["path"]
            path = os.path.join(self._root, relative)
            if relative in staged:
                copy, over_dir = staged[relative]
                if over_dir:
                    shutil.rmtree(path)
                placer(self.digester.algorithm).commit(copy)
                written[relative] = copy.stat
            elif entry["type"] == SYMLINK and _replace_symlink(Path(path), entry["target"]):
                written[relative] = None
        listed = {e["path"] for e in manifest.entries}
        for entry in manifest.entries:
            if entry["type"] == DIR:
                _remove_unlisted(self.root / entry["path"], entry["path"], listed)
        return written

    def _matches(self, path: str, info: os.stat_result, entry: dict[str, Any]) -> bool:
        if not stat_mod.S_ISREG(info.st_mode) or info.st_size != entry["size"]:
            return False
        if stat_mod.S_IMODE(info.st_mode) != entry["mode"]:
            return False
        return bool(self.digester.of_file(path, info.st_size) == entry["digest"])


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _make_dir(path: Path, mode: int) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode | 0o700)


def _remove_unlisted(path: Path, relative: str, listed: set[str]) -> None:
    for child in os.listdir(path):
        if f"{relative}/{child}" not in listed:
            victim = path / child
            if victim.is_dir() and not victim.is_symlink():
                shutil.rmtree(victim)
            else:
                victim.unlink()


def _replace_symlink(path: Path, target: str) -> bool:
    if path.is_symlink() and os.readlink(path) == target:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.conjure-tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, path)
    return True
