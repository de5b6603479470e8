"""Content checksums, state under cache/, definitions in the key: real doit runs."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time

from tests.conftest import Project

TWO_TASKS = """
    def task_gen():
        return {"actions": ["echo gen >> log.txt; cat in.txt > out.txt"],
                "file_dep": ["in.txt"], "targets": ["out.txt"]}

    def task_use():
        return {"actions": ["echo use >> log.txt"], "file_dep": ["out.txt"]}
"""


def test_second_run_is_up_to_date(project: Project) -> None:
    project.dodo(TWO_TASKS)
    project.write("in.txt", "a\n")
    first = project.doit()
    assert first.returncode == 0, first.stderr
    second = project.doit()
    assert second.returncode == 0, second.stderr
    assert project.log_lines() == ["gen", "use"]
    assert "0 ran, 2 up to date" in second.stdout
    assert (project.root / "cache" / "state.sqlite").exists()
    assert not (project.root / ".doit.db").exists()


def test_touch_without_change_runs_nothing_and_refreshes_stat(project: Project) -> None:
    project.dodo(TWO_TASKS)
    source = project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    past = time.time() - 1000
    os.utime(source, (past, past))
    result = project.doit()
    assert result.returncode == 0, result.stderr
    assert project.log_lines() == ["gen", "use"]
    with sqlite3.connect(project.root / "cache" / "state.sqlite") as db:
        (mtime,) = db.execute("SELECT mtime_ns FROM files WHERE path='in.txt'").fetchone()
    assert mtime == os.stat(source).st_mtime_ns


def test_content_change_reruns_only_what_changed_downstream(project: Project) -> None:
    project.dodo(TWO_TASKS)
    source = project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    source.write_text("b\n")
    assert project.doit().returncode == 0
    assert project.log_lines() == ["gen", "use", "gen", "use"]


def test_same_output_stops_the_rebuild_early(project: Project) -> None:
    project.dodo(
        """
        def task_gen():
            return {"actions": ["echo gen >> log.txt; wc -l < in.txt > out.txt"],
                    "file_dep": ["in.txt"], "targets": ["out.txt"]}

        def task_use():
            return {"actions": ["echo use >> log.txt"], "file_dep": ["out.txt"]}
        """
    )
    source = project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    source.write_text("b\n")  # same line count: gen re-runs, its output is identical
    assert project.doit().returncode == 0
    assert project.log_lines() == ["gen", "use", "gen"]


def test_sha256_when_configured(project: Project) -> None:
    project.write("pyproject.toml", '[tool.conjure]\nhash = "sha256"\n')
    project.dodo(TWO_TASKS)
    project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    with sqlite3.connect(project.root / "cache" / "state.sqlite") as db:
        (digest,) = db.execute("SELECT digest FROM files WHERE path='in.txt'").fetchone()
        (algorithm,) = db.execute("SELECT value FROM meta WHERE key='hash'").fetchone()
    assert algorithm == "sha256"
    assert digest == hashlib.sha256(b"a\n").hexdigest()


def test_clone_in_another_folder_with_same_cache_is_up_to_date(
    project: Project, tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    project.dodo(
        """
        from pathlib import Path
        HERE = Path(__file__).parent.resolve()

        def write(path):
            Path(path).write_text("x")
            with open("log.txt", "a") as log:
                log.write("ran\\n")

        def task_py():
            return {"actions": [(write, [str(HERE / "out.txt")])], "file_dep": ["in.txt"],
                    "targets": ["out.txt"]}
        """
    )
    project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    clone = tmp_path_factory.mktemp("clone") / "project"
    shutil.copytree(project.root, clone)
    os.remove(clone / "log.txt")
    other = Project(clone)
    result = other.doit()
    assert result.returncode == 0, result.stderr
    assert other.log_lines() == []


def test_directory_dependency(project: Project) -> None:
    project.dodo(
        """
        def task_tree():
            return {"actions": ["echo tree >> log.txt"], "file_dep": ["data"]}
        """
    )
    project.write("data/a.txt", "1")
    project.write("data/sub/b.txt", "2")
    assert project.doit().returncode == 0
    assert project.doit().returncode == 0
    project.write("data/sub/b.txt", "3")
    assert project.doit().returncode == 0
    project.write("data/sub/c.txt", "new")
    assert project.doit().returncode == 0
    assert project.log_lines() == ["tree", "tree", "tree"]


def test_modified_target_reruns_its_task(project: Project) -> None:
    project.dodo(TWO_TASKS)
    project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    (project.root / "out.txt").write_text("tampered\n")
    result = project.doit("explain")
    assert "target out.txt changed since the task created it" in result.stdout
    assert project.doit().returncode == 0
    assert (project.root / "out.txt").read_text() == "a\n"
