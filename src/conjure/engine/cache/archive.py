"""``doit cache export FILE`` / ``doit cache import FILE``: the cache folder as one archive.

The archive (``.tar.zst``/``.tzst`` or ``.tar.gz``/``.tgz``) holds the state database (a
consistent copy made with SQLite's backup API, even while another ``doit`` writes), the
blobs, the manifests, the run records and anything else under the cache folder, but not
temporary files or set-aside damaged ones.

Import checks every member before extracting any: a path that is absolute, climbs out with
``..``, or is a link or a device is refused with one clear error and nothing is written.
Import merges: blobs and manifests that exist are kept, the state's rows are added where the
local state has none.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from conjure.errors import ConfigError

SKIPPED = ("tmp", "corrupt")
STATE = "state.sqlite"


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".tar.zst", ".tzst")):
        return "zst"
    if name.endswith((".tar.gz", ".tgz")):
        return "gz"
    raise ConfigError(f"{path}: the archive must end in .tar.zst, .tzst, .tar.gz or .tgz")


def export_cache(folder: Path, dest: Path) -> int:
    """Writes the cache folder to an archive; returns the number of files in it.

    Raises:
        ConfigError: unknown archive suffix or no cache folder.
    """
    kind = _format(dest)
    if not folder.is_dir():
        raise ConfigError(f"no cache to export: {folder} does not exist")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    os.close(fd)
    count = 0
    try:
        with tempfile.TemporaryDirectory() as scratch, _writer(Path(tmp_name), kind) as tar:
            state = folder / STATE
            if state.exists():
                copy = Path(scratch) / STATE
                _backup(state, copy)
                tar.add(copy, arcname=STATE)
                count += 1
            for path in _members(folder):
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
                count += 1
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count


def _members(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        top = relative.parts[0]
        if top in SKIPPED or top.startswith(STATE) or path.is_symlink():
            continue
        if path.is_file():
            yield path


def _backup(source: Path, dest: Path) -> None:
    src = sqlite3.connect(source)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()


@contextmanager
def _writer(path: Path, kind: str) -> Iterator[tarfile.TarFile]:
    if kind == "gz":
        with tarfile.open(path, "w:gz", compresslevel=6) as tar:
            yield tar
        return
    import zstandard

    with open(path, "wb") as raw:
        compressor = zstandard.ZstdCompressor(level=3, threads=-1)
        with (
            compressor.stream_writer(raw) as stream,
            tarfile.open(fileobj=stream, mode="w|") as tar,
        ):
            yield tar


def import_cache(folder: Path, source: Path) -> int:
    """Merges an archive into the cache folder; returns the number of files added.

    Raises:
        ConfigError: unknown suffix, unreadable archive, or a member that would escape the
            cache folder (nothing is written then).
    """
    kind = _format(source)
    if not source.is_file():
        raise ConfigError(f"no such archive: {source}")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        tar_path = Path(scratch) / "archive.tar"
        _decompress(source, tar_path, kind)
        try:
            with tarfile.open(tar_path, "r:") as tar:
                members = tar.getmembers()
                for member in members:
                    _check_member(member, source)
                staged = Path(scratch) / "staged"
                tar.extractall(staged, members=members, filter="data")
        except tarfile.TarError as err:
            raise ConfigError(f"{source}: not a readable cache archive ({err})") from None
        return _merge(staged, folder)


def _decompress(source: Path, dest: Path, kind: str) -> None:
    try:
        with open(source, "rb") as raw, open(dest, "wb") as out:
            if kind == "gz":
                import gzip

                with gzip.open(raw) as stream:
                    shutil.copyfileobj(stream, out, 1 << 20)
            else:
                import zstandard

                reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(raw)
                shutil.copyfileobj(reader, out, 1 << 20)
    except (OSError, EOFError, ValueError, _zstd_error()) as err:
        raise ConfigError(f"{source}: cannot decompress ({err})") from None


def _zstd_error() -> type[Exception]:
    import zstandard

    error: type[Exception] = zstandard.ZstdError
    return error


def _check_member(member: tarfile.TarInfo, source: Path) -> None:
    name = member.name
    parts = Path(name).parts
    if name.startswith("/") or ".." in parts or not parts:
        raise ConfigError(f"{source}: refusing member {name!r}: it escapes the cache folder")
    if not (member.isfile() or member.isdir()):
        raise ConfigError(
            f"{source}: refusing member {name!r}: only files and folders may be imported"
        )


def _merge(staged: Path, folder: Path) -> int:
    added = 0
    for path in sorted(staged.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(staged)
        target = folder / relative
        if str(relative) == STATE and target.exists():
            _merge_state(path, target)
            continue
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        added += 1
    return added


def _merge_state(incoming: Path, local: Path) -> None:
    """Adds the incoming state's rows where the local state has none (local rows win)."""
    conn = sqlite3.connect(local, timeout=30.0, isolation_level=None)
    try:
        conn.execute("ATTACH DATABASE ? AS incoming", (str(incoming),))
        conn.execute("BEGIN IMMEDIATE")
        for table in ("files", "tasks", "keys"):
            conn.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM incoming.{table}")
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE incoming")
    except sqlite3.DatabaseError as err:
        raise ConfigError(f"cannot merge the imported state into {local}: {err}") from None
    finally:
        conn.close()
