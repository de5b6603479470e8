"""Bad input: one clear line, exit code 2, nothing lost."""

from __future__ import annotations

import sqlite3

from tests.conftest import Project


def test_cycle_names_the_whole_cycle(project: Project) -> None:
    project.dodo(
        """
        def task_a():
            return {"actions": ["true"], "task_dep": ["b"]}
        def task_b():
            return {"actions": ["true"], "task_dep": ["c"]}
        def task_c():
            return {"actions": ["true"], "task_dep": ["a"]}
        def task_d():
            return {"actions": ["echo d >> log.txt"]}
        """
    )
    result = project.doit()
    assert result.returncode == 2
    assert result.stderr.strip() == "conjure: error: dependency cycle: a -> b -> c -> a"
    assert project.log_lines() == []


def test_unknown_task_dep(project: Project) -> None:
    project.dodo(
        'def task_build():\n    return {"actions": ["true"], "task_dep": ["lnt"]}\n'
        'def task_lint():\n    return {"actions": ["true"]}\n'
    )
    result = project.doit()
    assert result.returncode == 2
    assert "task 'build' depends on 'lnt', which is not a task" in result.stderr


def test_missing_file_names_file_and_task(project: Project) -> None:
    project.dodo(
        'def task_compile():\n    return {"actions": ["echo c >> log.txt"], "file_dep": ["src/x.c"]}\n'
    )
    result = project.doit()
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "conjure: error: task 'compile' needs 'src/x.c', which does not exist and no task creates it"
    )


def test_duplicate_target(project: Project) -> None:
    project.dodo(
        'def task_a():\n    return {"actions": ["true"], "targets": ["bin/app"]}\n'
        'def task_b():\n    return {"actions": ["true"], "targets": ["bin/app"]}\n'
    )
    result = project.doit()
    assert result.returncode == 2
    assert "two tasks create the target 'bin/app': 'a' and 'b'" in result.stderr


def test_invalid_pyproject_value(project: Project) -> None:
    project.write("pyproject.toml", '[tool.conjure]\nhash = "md4"\n')
    project.dodo('def task_a():\n    return {"actions": ["true"]}\n')
    result = project.doit()
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "conjure: error: pyproject.toml [tool.conjure]: invalid hash = 'md4': "
        "expected one of blake3, sha256"
    )


def test_invalid_task_key_value(project: Project) -> None:
    project.dodo('def task_a():\n    return {"actions": ["true"], "timeout": "soon"}\n')
    result = project.doit()
    assert result.returncode == 2
    assert "task 'a': timeout must be a positive number of seconds" in result.stderr


def test_corrupt_state_is_set_aside_and_rebuilt(project: Project) -> None:
    project.dodo(
        'def task_a():\n    return {"actions": ["echo a >> log.txt"], "file_dep": ["in.txt"]}\n'
    )
    project.write("in.txt", "x")
    assert project.doit().returncode == 0
    state = project.root / "cache" / "state.sqlite"
    for suffix in ("-wal", "-shm"):
        (project.root / "cache" / f"state.sqlite{suffix}").unlink(missing_ok=True)
    state.write_bytes(b"this is not a database" * 100)
    result = project.doit()
    assert result.returncode == 0, result.stderr
    assert "is unreadable" in result.stdout
    assert list((project.root / "cache").glob("state.sqlite.corrupt-*"))
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM tasks").fetchone() == (1,)
    assert project.log_lines() == ["a", "a"]


def test_not_opted_in_is_plain_doit(project: Project) -> None:
    project.dodo(
        'def task_a():\n    return {"actions": ["echo a >> log.txt"], "file_dep": ["in.txt"]}\n',
        conjure=False,
    )
    project.write("in.txt", "x")
    result = project.doit()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [".", "a"]
    assert not (project.root / "cache").exists()
    assert list(project.root.glob(".doit.db*"))
    assert project.doit().stdout.split() == ["--", "a"]
