"""FileIndex: the stat fast path, refresh after touch, directory digests, written paths."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from conjure.engine.files import MISSING, UNSETTLED, FileIndex, is_racy
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


def test_racy_window_follows_the_timestamp_resolution() -> None:
    now = 1_800_000_000.5
    fine = int((now - 0.3) * 1e9) + 123  # sub-second timestamps: ext4, XFS, APFS
    assert not is_racy(fine, now)
    assert is_racy(fine, now - 0.25)
    whole = int(now - 1) * 1_000_000_000  # whole seconds: FAT, HFS+, tar-extracted files
    assert is_racy(whole, now)
    assert not is_racy(whole, now + 2)


def test_a_file_settles_a_moment_after_it_was_written(cwd: Path) -> None:
    Path("a.txt").write_text("one")
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    index.digest("a.txt")
    assert index.settled_stat("a.txt") is None  # just written: racy
    time.sleep(0.2)
    later = FileIndex(Digester("blake3"), dict(index.dirty), str(cwd))
    later.digest("a.txt")
    assert later.hashed == 1
    st = os.stat("a.txt")
    if st.st_mtime_ns % 1_000_000_000:
        assert later.settled_stat("a.txt") == (st.st_size, st.st_mtime_ns, st.st_ino)


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


def test_forgetting_a_written_file_drops_the_digests_of_its_folders(cwd: Path) -> None:
    Path("d/sub").mkdir(parents=True)
    Path("d/sub/x").write_text("1")
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    tree, inner = index.digest("d"), index.digest("d/sub")
    assert index.digest("e") == MISSING
    Path("d/sub/x").write_text("2")
    Path("e/f").mkdir(parents=True)
    Path("e/f/g").write_text("new")
    index.forget(["d/sub/x", "e/f/g"])
    assert index.digest("d") != tree
    assert index.digest("d/sub") != inner
    assert index.digest("e") != MISSING


def test_forgetting_a_folder_drops_what_was_read_under_it(cwd: Path) -> None:
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    assert index.digest("out/a.txt") == MISSING
    assert index.digest("out/deep/b.txt") == MISSING
    assert index.digest("outside.txt") == MISSING
    Path("out/deep").mkdir(parents=True)
    Path("out/a.txt").write_text("a")
    Path("out/deep/b.txt").write_text("b")
    Path("outside.txt").write_text("c")
    index.forget(["out"])
    assert index.digest("out/a.txt") != MISSING
    assert index.digest("out/deep/b.txt") != MISSING
    assert index.digest("outside.txt") == MISSING  # not under the forgotten folder


def test_a_file_replaced_by_a_folder_is_seen_as_a_folder(cwd: Path) -> None:
    Path("t").write_text("file")
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    index.digest("t")
    assert index.digest("t/x") == MISSING
    index.forget(["other"])  # builds the index of folders before the change
    Path("t").unlink()
    Path("t").mkdir()
    Path("t/x").write_text("x")
    index.forget(["t"])
    assert index.digest("t/x") != MISSING


def test_a_trusted_file_is_neither_hashed_nor_looked_at_again(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("a.txt").write_text("restored")
    st = os.stat("a.txt")
    stat = (st.st_size, st.st_mtime_ns, st.st_ino)
    index = FileIndex(Digester("blake3"), {}, str(cwd))
    digest = Digester("blake3").of_bytes(b"restored")
    index.trust("a.txt", digest, stat)

    def no_stat(*args: object, **kwargs: object) -> None:
        raise AssertionError("stat called")

    monkeypatch.setattr(os, "stat", no_stat)
    assert index.digest("a.txt") == digest
    monkeypatch.undo()
    assert index.hashed == 0
    assert index.dirty["a.txt"] == (st.st_size, -1, st.st_ino, digest)  # just written: racy
    assert index.snapshot_entry("a.txt") == (UNSETTLED, digest)
