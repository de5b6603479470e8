"""The restore's data path on a LocalCache: verified copies, atomic placement, fallbacks."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conjure.engine.cache import placement, store
from conjure.engine.cache.store import CacheMiss, LocalCache, Manifest
from conjure.engine.hashing import Digester


def _tree(root: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Everything under ``root/out``: kind, content (or link target) and mode, by path."""
    found: dict[str, tuple[str, bytes | str, int]] = {}
    for path in sorted((root / "out").rglob("*")):
        rel = str(path.relative_to(root))
        mode = path.lstat().st_mode & 0o7777
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path), 0)
        elif path.is_dir():
            found[rel] = ("dir", b"", mode)
        else:
            found[rel] = ("file", path.read_bytes(), mode)
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "out" / "pages" / "sub").mkdir(parents=True)
    (root / "out" / "big.bin").write_bytes(os.urandom(3 << 20))
    (root / "out" / "empty.txt").write_bytes(b"")
    tool = root / "out" / "tool.sh"
    tool.write_text("#!/bin/sh\necho tool\n")
    tool.chmod(0o750)
    for i in range(6):
        (root / "out" / "pages" / f"p{i}.html").write_text(f"page {i}\n" * 100)
    (root / "out" / "pages" / "sub" / "two.html").write_text("two\n")
    (root / "out" / "pages" / "link").symlink_to("p0.html")
    return root


def _stored(root: Path) -> tuple[LocalCache, Manifest, dict[str, tuple[str, bytes | str, int]]]:
    cache = LocalCache(root.parent / "cache", root, Digester("blake3"))
    targets = ["out/big.bin", "out/empty.txt", "out/tool.sh", "out/pages"]
    manifest = Manifest(key="k" * 64, task="gen", targets=targets, entries=cache.snapshot(targets))
    return cache, manifest, _tree(root)


def _check_stats(root: Path, written: dict[str, tuple[int, int, int] | None]) -> None:
    """Each written file's stat, as the restore reports it for the file index to trust, is
    the one it has in place (None for a symlink)."""
    for path, stat in written.items():
        st = os.lstat(root / path)
        if os.path.islink(root / path):
            assert stat is None
        else:
            assert stat == (st.st_size, st.st_mtime_ns, st.st_ino), path


def _leftovers(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if ".conjure-" in p.name]


def _blob(cache: LocalCache, manifest: Manifest, path: str) -> Path:
    digest = next(e["digest"] for e in manifest.entries if e["path"] == path)
    return cache.blob_path(digest)


def test_restore_into_an_empty_folder_is_exact(project: Path) -> None:
    cache, manifest, expected = _stored(project)
    subprocess.run(["rm", "-rf", str(project / "out")], check=True)
    written = cache.restore(manifest)
    assert _tree(project) == expected  # bytes, modes, the symlink, the empty file
    assert "out/big.bin" in written and "out/pages/link" in written
    assert _leftovers(project) == []
    _check_stats(project, written)


def test_matching_files_are_left_alone_and_the_rest_replaced(project: Path) -> None:
    cache, manifest, expected = _stored(project)
    untouched = (project / "out" / "tool.sh").stat().st_ino
    (project / "out" / "pages" / "p1.html").write_text("edited\n")
    (project / "out" / "pages" / "stray.html").write_text("not the task's\n")
    (project / "out" / "empty.txt").unlink()
    (project / "out" / "empty.txt").mkdir()  # a folder where a file belongs
    written = cache.restore(manifest)
    assert _tree(project) == expected
    assert sorted(written) == ["out/empty.txt", "out/pages/p1.html"]
    _check_stats(project, written)
    assert (project / "out" / "tool.sh").stat().st_ino == untouched
    assert _leftovers(project) == []


@pytest.mark.parametrize("damage", ["flip", "truncate", "extend"])
def test_a_damaged_blob_is_set_aside_and_no_target_is_replaced(project: Path, damage: str) -> None:
    cache, manifest, _ = _stored(project)
    for name in ("big.bin", "tool.sh"):  # every file differs from the cache now
        (project / "out" / name).write_bytes(b"old " + name.encode())
    before = _tree(project)
    blob = _blob(cache, manifest, "out/big.bin")
    data = blob.read_bytes()
    blob.chmod(0o644)
    damaged = {
        "flip": data[:100] + bytes([data[100] ^ 1]) + data[101:],
        "truncate": data[:1000],
        "extend": data + b"x",
    }
    blob.write_bytes(damaged[damage])
    with pytest.raises(CacheMiss, match=r"cache blob \w{12} is corrupt; moved it to "):
        cache.restore(manifest)
    assert _tree(project) == before  # nothing replaced, nothing removed
    assert not blob.exists() and len(list((cache.folder / "corrupt").iterdir())) == 1
    assert _leftovers(project) == []


def test_a_missing_blob_is_a_miss(project: Path) -> None:
    cache, manifest, _ = _stored(project)
    (project / "out" / "tool.sh").unlink()
    _blob(cache, manifest, "out/tool.sh").unlink()
    with pytest.raises(CacheMiss, match=r"cache blob \w{12} is missing"):
        cache.restore(manifest)


def test_a_copy_that_comes_out_wrong_keeps_the_intact_blob(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, manifest, _ = _stored(project)
    (project / "out" / "big.bin").unlink()

    def bad_copy(src: int, dst: int, size: int) -> int:
        os.pwrite(dst, b"\0" * size, 0)
        return size

    monkeypatch.setattr(placement, "_copy", bad_copy)
    with pytest.raises(CacheMiss, match="could not be copied intact"):
        cache.restore(manifest)
    assert _blob(cache, manifest, "out/big.bin").exists()
    assert not (cache.folder / "corrupt").exists()


def _no_tmpfile(monkeypatch: pytest.MonkeyPatch, cache: LocalCache) -> None:
    monkeypatch.setattr(placement.placer(cache.digester.algorithm), "_unnamed", False)


def _no_copy_range(monkeypatch: pytest.MonkeyPatch, cache: LocalCache) -> None:
    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", refuse)


def _only_read_write(monkeypatch: pytest.MonkeyPatch, cache: LocalCache) -> None:
    def refuse(*args: object) -> int:
        raise OSError(errno.EINVAL, "unsupported")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    monkeypatch.setattr(os, "sendfile", refuse)


def _few_open_copies(monkeypatch: pytest.MonkeyPatch, cache: LocalCache) -> None:
    monkeypatch.setattr(store, "OPEN_COPIES", 2)


@pytest.mark.parametrize(
    "limit",
    [_no_tmpfile, _no_copy_range, _only_read_write, _few_open_copies],
    ids=lambda f: f.__name__,
)
def test_fallbacks_restore_the_same_bytes(
    project: Path, monkeypatch: pytest.MonkeyPatch, limit: Callable[..., None]
) -> None:
    cache, manifest, expected = _stored(project)
    subprocess.run(["rm", "-rf", str(project / "out")], check=True)
    limit(monkeypatch, cache)
    _check_stats(project, cache.restore(manifest))
    assert _tree(project) == expected
    assert _leftovers(project) == []


_KILLED_MID_COPY = """
import os, signal, sys
from pathlib import Path
from conjure.engine.cache import placement
from conjure.engine.cache.store import LocalCache, Manifest
from conjure.engine.hashing import Digester

root = Path(sys.argv[1])
cache = LocalCache(root.parent / "cache", root, Digester("blake3"))
manifest = Manifest.from_json(Path(sys.argv[2]).read_text())
real = placement._copy

def half_then_die(src, dst, size):
    real(src, dst, size // 2)
    os.kill(os.getpid(), signal.SIGKILL)

placement._copy = half_then_die
cache.restore(manifest)
"""


@pytest.mark.parametrize("unnamed", [True, False])
def test_a_restore_killed_mid_copy_leaves_no_target(
    project: Path, tmp_path: Path, unnamed: bool
) -> None:
    cache, manifest, _ = _stored(project)
    subprocess.run(["rm", "-rf", str(project / "out")], check=True)
    manifest.entries = [e for e in manifest.entries if e["path"] == "out/big.bin"]
    saved = tmp_path / "manifest.json"
    saved.write_text(manifest.to_json())
    script = _KILLED_MID_COPY
    if not unnamed:
        script = script.replace(
            "placement._copy = ", "placement.placer('blake3')._unnamed = False\nplacement._copy = "
        )
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(project), str(saved)], check=False
    )
    assert child.returncode == -9
    assert not (project / "out" / "big.bin").exists()  # never half a file under its name
    leftovers = _leftovers(project)
    assert leftovers == [] if unnamed else len(leftovers) == 1  # named: a dot-file at most
    cache.restore(manifest)  # the next restore works and puts the whole file in place
    assert (project / "out" / "big.bin").read_bytes() == _blob(
        cache, manifest, "out/big.bin"
    ).read_bytes()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "../x", "type": "file"}, "outside the project"),
        ({"path": "/etc/x", "type": "file"}, "invalid path"),
        (
            {"path": "x", "type": "file", "digest": "../../../src/x", "size": 1, "mode": 420},
            "digest",
        ),
        (
            {"path": "x", "type": "file", "digest": "a" * 64, "size": "1", "mode": 420},
            "size or mode",
        ),
        ({"path": "x", "type": "dir"}, "size or mode"),
        ({"path": "x", "type": "fifo"}, "invalid entry"),
    ],
)
def test_a_manifest_that_could_reach_outside_is_refused(
    entry: dict[str, object], message: str
) -> None:
    manifest = Manifest(key="k", task="t", targets=["x"], entries=[entry])
    with pytest.raises(CacheMiss, match=message):
        Manifest.from_json(manifest.to_json())


def _twice(value: int) -> int:
    if value < 0:
        raise ValueError(value)
    return value * 2


def test_run_all_hands_back_results_and_errors_in_order() -> None:
    outcomes = placement.run_all(_twice, [(-1,), (1,), (-2,), (3,)] + [(n,) for n in range(20)])
    assert isinstance(outcomes[0], ValueError) and isinstance(outcomes[2], ValueError)
    assert outcomes[1] == 2 and outcomes[3] == 6
    assert outcomes[4:] == [n * 2 for n in range(20)]
    assert placement.run_all(_twice, []) == [] and placement.run_all(_twice, [(4,)]) == [8]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads (3.12+)
def test_the_restore_threads_are_started_again_in_a_forked_child() -> None:
    assert placement.run_all(_twice, [(1,), (2,), (3,)]) == [2, 4, 6]  # threads started
    pid = os.fork()
    if pid == 0:  # the child has none of the parent's threads
        code = 2
        try:
            code = 0 if placement.run_all(_twice, [(1,), (2,), (3,)]) == [2, 4, 6] else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
