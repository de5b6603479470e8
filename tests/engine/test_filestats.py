"""Packed file stats: the C extension and the Python fallback give the same bytes."""

from __future__ import annotations

import os
import shlex
import shutil
import sysconfig
from pathlib import Path

import pytest

from conjure.engine import filestats
from conjure.engine.filestats import (
    RECORD_SIZE,
    StatJob,
    join_paths,
    moved_indices,
    pack,
    split_paths,
    unpack,
    unsettle,
)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Relative paths of every kind the no-op path meets, cwd at their root."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    for n in range(40):
        (tmp_path / "src" / f"f{n:02d}.txt").write_text("x" * n)
    (tmp_path / "naïve ü.txt").write_text("accents")
    os.symlink("src/f01.txt", tmp_path / "link")
    old = tmp_path / "before-1970.txt"
    old.write_text("old")
    os.utime(old, ns=(-(10**9) * 86_400, -(10**9) * 86_400 + 123))
    odd = os.fsdecode(b"not-utf8-\xff.txt")  # a surrogate-escaped name
    Path(odd).write_text("odd")
    return [
        *sorted(f"src/{p.name}" for p in (tmp_path / "src").iterdir()),
        "src",
        "naïve ü.txt",
        "link",
        "before-1970.txt",
        odd,
    ]


def expected(paths: list[str]) -> list[tuple[int, int, int]]:
    return [(st.st_size, st.st_mtime_ns, st.st_ino) for st in map(os.stat, paths)]


def test_extension_is_built_where_a_compiler_is() -> None:
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    if shutil.which(compiler) and not os.environ.get("CONJURE_PURE_PYTHON"):
        assert filestats.NATIVE, "hatch_build.py did not build conjure.engine._filestats"
    else:
        assert not filestats.NATIVE


def test_native_and_python_give_the_stats_os_stat_gives(tree: list[str]) -> None:
    blob = join_paths(tree)
    assert split_paths(blob) == tree
    python = filestats._stat_paths_python(blob)
    assert python is not None
    assert unpack(python) == expected(tree)  # a negative mtime and a symlink included
    assert filestats.stat_paths(blob) == python


def test_a_path_that_cannot_be_stated_gives_none(tree: list[str]) -> None:
    blob = join_paths([*tree[:3], "missing.txt", *tree[3:]])
    assert filestats.stat_paths(blob) is None
    assert filestats._stat_paths_python(blob) is None
    assert StatJob(blob, 3).result() is None


def test_paths_must_be_nul_terminated() -> None:
    with pytest.raises(ValueError, match="NUL"):
        filestats.stat_paths(b"src")
    with pytest.raises(ValueError, match="NUL"):
        filestats._stat_paths_python(b"src")
    with pytest.raises(ValueError, match="NUL"):
        StatJob(b"src\0tests", 2).result()
    assert filestats.stat_paths(b"") == filestats._stat_paths_python(b"") == b""
    assert StatJob(b"", 2).result() == b""


@pytest.mark.parametrize("threads", [1, 2, 3, 4, 60])
def test_threads_give_the_same_bytes_in_path_order(tree: list[str], threads: int) -> None:
    blob = join_paths(tree)
    assert StatJob(blob, threads).result() == filestats.stat_paths(blob)


def test_a_job_takes_the_stats_while_the_caller_goes_on(tree: list[str]) -> None:
    blob = join_paths(tree * 50)  # many chunks for the helpers
    job = StatJob(blob, 3)
    busy = sum(range(200_000))  # the caller's own work meanwhile
    assert busy and job.result() == filestats.stat_paths(blob)
    assert job.result() == filestats.stat_paths(blob)  # collected again, same bytes


def test_a_cancelled_job_gives_no_stats(tree: list[str]) -> None:
    job = StatJob(join_paths(tree * 50), 3)
    job.cancel()
    if filestats.NATIVE:
        assert job.result() is None
    del job  # a job dropped unfinished waits for its helpers: nothing left running


def test_unsettled_packs_as_a_record_no_file_has(tree: list[str]) -> None:
    stats = expected(tree)
    blob = pack([stats[0], (-1, -1, -1), stats[2]])
    assert len(blob) == 3 * RECORD_SIZE
    assert unpack(blob) == [stats[0], (-1, -1, -1), stats[2]]
    assert unsettle(pack(stats), [1]) == pack([stats[0], (-1, -1, -1), *stats[2:]])


def test_moved_indices_name_the_records_that_differ(tree: list[str]) -> None:
    stats = expected(tree)
    changed = list(stats)
    changed[2] = (stats[2][0] + 1, stats[2][1], stats[2][2])
    changed[-1] = (stats[-1][0], stats[-1][1] + 1, stats[-1][2])
    assert moved_indices(pack(changed), pack(stats)) == [2, len(stats) - 1]
    assert moved_indices(pack(stats), pack(stats)) == []
