"""FileIndex: the stat fast path, refresh after touch, directory digests."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conjure.engine.files import MISSING, FileIndex
from conjure.engine.hashing import Digester


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def _old(path: Path) -> None:
    past = time.time() - 100
    os.utime(path, (past, past))


def test_fast_path_trusts_matching_stat(cwd: Path) -> None:
    Path("a.txt").write_text("one")
    _old(Path("a.txt"))
    first = FileIndex(Digester("blake3"), {}, str(cwd))
    digest = first.digest("a.txt")
    assert first.hashed == 1
    second = FileIndex(Digester("blake3"), dict(first.dirty), str(cwd))
    assert second.digest("a.txt") == digest
    assert second.hashed == 0


def test_touch_rehashes_once_and_records_the_new_stat(cwd: Path) -> None:
    Path("a.txt").write_text("one")
    _old(Path("a.txt"))
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    digest = index.digest("a.txt")
    rows = dict(index.dirty)
    past = time.time() - 50
    os.utime("a.txt", (past, past))
    again = FileIndex(Digester("blake3"), rows, str(cwd))
    assert again.digest("a.txt") == digest
    assert again.hashed == 1
    assert again.dirty["a.txt"][1] == os.stat("a.txt").st_mtime_ns


def test_recent_files_are_not_trusted_next_time(cwd: Path) -> None:
    Path("a.txt").write_text("one")
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    index.digest("a.txt")
    assert index.dirty["a.txt"][1] == -1


def test_directory_digest_changes_with_content_and_names(cwd: Path) -> None:
    Path("d/sub").mkdir(parents=True)
    Path("d/sub/x").write_text("1")

    def digest() -> str:
        return FileIndex(Digester("sha256"), {}, str(cwd)).digest("d")

    before = digest()
    assert digest() == before
    Path("d/sub/x").write_text("2")
    changed = digest()
    assert changed != before
    Path("d/sub/x").rename("d/sub/y")
    assert digest() != changed


def test_missing_and_key_normalisation(cwd: Path) -> None:
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    assert index.digest("nope") == MISSING
    assert index.key(str(cwd / "src" / ".." / "a.txt")) == "a.txt"
