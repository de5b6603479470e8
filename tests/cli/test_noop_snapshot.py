"""The no-op snapshot: a run that changes nothing skips the engine, and never skips work.

Each test gets a project into the state where the snapshot is written (every file older
than the racy window, one up-to-date run), checks the next run is served from it, then
makes one change that must make a task run again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import Project

DODO = """
    import os
    import helpers

    def task_gen():
        return {"actions": ["echo gen >> log.txt; cat in.txt > out.txt"],
                "file_dep": ["in.txt"], "targets": ["out.txt"], "cache": False}

    def task_use():
        return {"actions": [(helpers.mark, ["use"])], "file_dep": ["out.txt"],
                "env": ["GREETING"]}

    def task_group():
        for n in range(int(os.environ.get("PARTS", "2"))):
            yield {"name": f"p{n}", "actions": [f"echo p{n} >> log.txt"],
                   "file_dep": ["in.txt"]}
"""

HELPERS = """
    def mark(name):
        with open("log.txt", "a") as log:
            log.write(name + "\\n")
"""


def age(project: Project) -> None:
    """Moves every file's mtime out of the racy window, as time passing would."""
    past = time.time() - 100
    for path in project.root.rglob("*"):
        if path.is_file() and "cache" not in path.parts:
            os.utime(path, (past, past))


def last_record(project: Project) -> dict[str, object]:
    runs = sorted((project.root / "cache" / "runs").glob("*.json"))
    record: dict[str, object] = json.loads(runs[-1].read_text())
    return record


def snapshot(project: Project) -> Path:
    return project.root / "cache" / "noop.snapshot"


@pytest.fixture
def settled(project: Project) -> Project:
    """A project whose last run was a no-op that left a snapshot."""
    project.dodo(DODO)
    project.write("helpers.py", HELPERS)
    project.write("in.txt", "a\n")
    first = project.doit()
    assert first.returncode == 0, first.stderr
    age(project)
    second = project.doit()
    assert second.returncode == 0, second.stderr
    assert "0 ran" in second.stdout
    assert snapshot(project).exists()
    project.write("log.txt", "")
    return project


def served(project: Project, *args: str, **env: str) -> bool:
    """Runs doit; whether the run was answered from the snapshot (and ran nothing)."""
    result = project.doit(*args, **env)
    assert result.returncode == 0, result.stderr
    return bool(last_record(project).get("from_snapshot"))


def test_unchanged_project_is_served_with_the_normal_summary(settled: Project) -> None:
    result = settled.doit()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("conjure: 0 ran, 4 up to date, 0 failed in ")
    record = last_record(settled)
    assert record["from_snapshot"] is True
    assert record["counts"] == {"up-to-date": 5}
    assert settled.log_lines() == []


def test_content_edit_reruns_the_task(settled: Project) -> None:
    settled.write("in.txt", "b\n")
    assert not served(settled)
    assert sorted(settled.log_lines()) == ["gen", "p0", "p1", "use"]


def test_touch_without_change_is_still_a_snapshot_no_op(settled: Project) -> None:
    past = time.time() - 50
    os.utime(settled.root / "in.txt", (past, past))
    assert served(settled)  # re-hashed against the snapshot's digest, then stored
    assert settled.log_lines() == []
    assert served(settled)

    def stored_mtime() -> int:
        with sqlite3.connect(settled.root / "cache" / "state.sqlite") as db:
            (mtime,) = db.execute("SELECT mtime_ns FROM files WHERE path='in.txt'").fetchone()
        return int(mtime)

    # the new stat went into the snapshot only; the next session that opens the database
    # (here another command line, every task still up to date) writes it as a file row
    now = os.stat(settled.root / "in.txt").st_mtime_ns
    assert stored_mtime() != now
    assert not served(settled, "gen", "use", "group")
    assert stored_mtime() == now
    assert settled.log_lines() == []


def test_copy_with_its_cache_is_served_and_an_edit_in_it_is_not(
    settled: Project, tmp_path: Path
) -> None:
    clone = Project(tmp_path / "clone")
    shutil.copytree(settled.root, clone.root)  # new inodes and mtimes, same contents
    age(clone)
    assert served(clone)
    assert clone.log_lines() == []
    clone.write("in.txt", "changed\n")
    assert not served(clone)
    assert sorted(clone.log_lines()) == ["gen", "p0", "p1", "use"]


def test_deleted_target_is_rebuilt(settled: Project) -> None:
    (settled.root / "out.txt").unlink()
    assert not served(settled)
    assert settled.log_lines() == ["gen"]


def test_changed_command_in_dodo_reruns(settled: Project) -> None:
    dodo = settled.root / "dodo.py"
    dodo.write_text(dodo.read_text().replace("echo gen", "echo gen2"))
    assert not served(settled)
    assert "gen2" in settled.log_lines()


def test_changed_helper_code_reruns_the_python_action(settled: Project) -> None:
    settled.write("helpers.py", HELPERS.replace('name + "\\n"', 'name + "!\\n"'))
    assert not served(settled)
    assert settled.log_lines() == ["use!"]


def test_declared_environment_variable_reruns(settled: Project) -> None:
    assert not served(settled, GREETING="hello")
    assert settled.log_lines() == ["use"]


def test_dodo_reading_the_environment_changes_the_graph(settled: Project) -> None:
    assert not served(settled, PARTS="3")
    assert settled.log_lines() == ["p2"]


def test_forget_is_never_hidden_by_the_snapshot(settled: Project) -> None:
    forget = settled.doit("forget", "gen")
    assert forget.returncode == 0, forget.stderr
    assert not snapshot(settled).exists()
    assert not served(settled)
    assert settled.log_lines() == ["gen"]


def test_replaced_state_database_is_not_trusted(settled: Project) -> None:
    state = settled.root / "cache" / "state.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    assert not served(settled)
    assert sorted(settled.log_lines()) == ["gen", "p0", "p1", "use"]


def test_damaged_snapshot_is_ignored(settled: Project) -> None:
    snapshot(settled).write_bytes(b"\x00garbage")
    assert not served(settled)
    assert settled.log_lines() == []
    assert served(settled)


def test_other_command_line_is_not_served_from_this_snapshot(settled: Project) -> None:
    assert not served(settled, "gen")
    assert served(settled, "gen")
    assert not served(settled)
    assert settled.log_lines() == []


def test_uptodate_checks_are_evaluated_every_run(project: Project) -> None:
    project.dodo(
        """
        def task_check():
            return {"actions": ["echo check >> log.txt"], "file_dep": ["in.txt"],
                    "uptodate": [lambda: True]}
        """
    )
    project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    age(project)
    assert project.doit().returncode == 0
    assert not snapshot(project).exists()


def test_killed_run_leaves_no_snapshot_that_skips_work(settled: Project) -> None:
    settled.write("in.txt", "c\n")
    dodo = settled.root / "dodo.py"
    slow = '"actions": [(__import__("time").sleep, [30]), "echo gen'
    dodo.write_text(dodo.read_text().replace('"actions": ["echo gen', slow))
    running = settled.start()
    deadline = time.time() + 20
    while snapshot(settled).exists() and time.time() < deadline:
        time.sleep(0.05)
    running.send_signal(signal.SIGKILL)
    running.communicate(timeout=10)
    assert not snapshot(settled).exists()
    dodo.write_text(dodo.read_text().replace(slow, '"actions": ["echo gen'))
    assert not served(settled)
    assert "gen" in settled.log_lines()
    with sqlite3.connect(settled.root / "cache" / "state.sqlite") as db:
        names = {row[0] for row in db.execute("SELECT name FROM tasks")}
    assert "gen" in names


def test_verbose_no_op_lists_every_task_and_writes_the_same_record(settled: Project) -> None:
    quiet = settled.doit()
    record = last_record(settled)
    assert not served(settled, "-v", "2")  # another command line: its own snapshot
    verbose = settled.doit("-v", "2")
    assert verbose.returncode == 0, verbose.stderr
    verbose_record = last_record(settled)
    assert verbose_record["from_snapshot"] is True
    assert "--      p0" in verbose.stdout.replace("group:", "")
    assert quiet.stdout.count("\n") == 1  # only the counts line
    same = ("counts", "tasks", "up_to_date", "exit_code", "argv", "jobs")
    assert {k: record[k] for k in same[:4]} == {k: verbose_record[k] for k in same[:4]}
    assert sorted(record) == sorted(verbose_record)


def test_served_whatever_the_hash_seed(settled: Project) -> None:
    assert all(served(settled, PYTHONHASHSEED=str(seed)) for seed in (1, 2, 3))
    settled.write("in.txt", "changed\n")
    assert not served(settled, PYTHONHASHSEED="4")
    assert sorted(settled.log_lines()) == ["gen", "p0", "p1", "use"]


def test_values_pickle_cannot_describe_fall_back_per_task(project: Project) -> None:
    project.dodo(
        """
        class Opaque:
            def __repr__(self):
                return "Opaque()"

        def show(value):
            print(value)

        def task_odd():
            return {"actions": [(show, [Opaque()])], "file_dep": ["in.txt"]}

        def task_plain():
            return {"actions": ["echo plain >> log.txt"], "file_dep": ["in.txt"]}
        """
    )
    project.write("in.txt", "a\n")
    assert project.doit().returncode == 0
    age(project)
    project.write("log.txt", "")
    assert project.doit("plain").returncode == 0
    assert served(project, "plain")  # the other task's odd value costs only its own snapshot
    assert project.doit("odd").returncode == 0
    assert not served(project, "odd")  # its up-to-date status is never taken on trust
    assert project.log_lines() == []


def test_stats_compare_alike_with_and_without_the_c_extension(settled: Project) -> None:
    # a snapshot the extension wrote is served by the Python fallback as it is (no file
    # re-hashed, nothing rewritten), and the other way round after a touch
    written = snapshot(settled).read_bytes()
    assert served(settled, CONJURE_PURE_PYTHON="1")
    assert snapshot(settled).read_bytes() == written
    past = time.time() - 50
    os.utime(settled.root / "in.txt", (past, past))
    assert served(settled, CONJURE_PURE_PYTHON="1")  # re-hashed, new stats stored
    rewritten = snapshot(settled).read_bytes()
    assert rewritten != written
    assert served(settled)
    assert snapshot(settled).read_bytes() == rewritten
    assert settled.log_lines() == []
