"""Mage habits and their doit/conjure equivalents (see docs/migrating-from-mage.md)."""

from __future__ import annotations

from tests.conftest import Project
from tests.library.conftest import last_run

DODO = '''
import sys
from conjure import shell

def task_build():
    """Build the site. Renders every page, then copies the assets."""
    def site():
        open("log.txt", "a").write("build:site\\n")
    yield {"name": "site", "actions": [site], "doc": "Build the site."}

def task_b():
    """Alias of build."""
    return {"actions": None, "task_dep": ["build"]}

def task_gen():
    for lang in ("go", "py"):  # the same dependency with different arguments: two runs
        yield {"name": lang, "actions": [f"echo gen-{lang} >> log.txt"]}

def task_release():
    """Needs gen (both) and build; each runs once per run."""
    return {"actions": ["echo release >> log.txt"], "task_dep": ["gen", "build", "b"]}

def task_greet():
    """Typed arguments."""
    def greet(who, times, loud):
        line = (who.upper() if loud else who) + "\\n"
        open("log.txt", "a").write(line * times)
    return {
        "actions": [greet],
        "params": [
            {"name": "who", "long": "who", "type": str, "default": "world"},
            {"name": "times", "long": "times", "type": int, "default": 1},
            {"name": "loud", "long": "loud", "type": bool, "default": False},
        ],
    }

def task_fail_with_code():
    def action():
        shell.run(sys.executable, "-c", "raise SystemExit(3)")
    return {"actions": [action]}
'''


def test_docs_default_alias_namespace(project: Project) -> None:
    project.dodo(DODO, config='default_tasks=["b"]')
    listed = project.doit("list")
    assert listed.returncode == 0, listed.stderr
    assert "build            Build the site.\n" in listed.stdout  # the first sentence
    helped = project.doit("help", "build")
    assert helped.returncode == 0, helped.stderr
    assert "Renders every page, then copies the assets." in helped.stdout  # the whole docstring
    r = project.doit()  # the default task, an alias of build
    assert r.returncode == 0, r.stderr
    assert project.log_lines() == ["build:site"]
    assert project.doit("build:site").returncode == 0  # a namespaced target
    assert project.log_lines() == ["build:site", "build:site"]


def test_deps_run_once_and_different_arguments_count_twice(project: Project) -> None:
    project.dodo(DODO)
    r = project.doit("-n", "2", "release")
    assert r.returncode == 0, r.stderr
    lines = project.log_lines()
    assert sorted(lines) == ["build:site", "gen-go", "gen-py", "release"]
    assert lines[-1] == "release"
    ran, _ = last_run(project)
    assert {"gen:go", "gen:py", "build:site", "release"} <= ran


def test_typed_arguments(project: Project) -> None:
    project.dodo(DODO)
    r = project.doit("greet", "--who", "mage", "--times", "2", "--loud")
    assert r.returncode == 0, r.stderr
    assert project.log_lines() == ["MAGE", "MAGE"]
    r = project.doit("greet", "--times", "two")
    assert r.returncode != 0


def test_a_failing_child_fails_the_task_and_is_named(project: Project) -> None:
    project.dodo(DODO)
    r = project.doit("fail_with_code")
    assert r.returncode != 0
    assert "exit 3" in r.stdout + r.stderr


def test_verbosity_shows_more_or_less(project: Project) -> None:
    """Mage's ``-v``: doit's ``--verbosity`` (0: failures only; 1, the default: the output of
    every task that ran; 2: up-to-date tasks too)."""
    project.write("in.txt", "x")
    project.dodo(
        """
        def task_talk():
            return {"actions": ["echo said-something"], "file_dep": ["in.txt"]}
        """
    )
    r = project.doit("--verbosity", "0", "talk")
    assert r.returncode == 0, r.stderr
    assert "said-something" not in r.stdout and "talk" not in r.stdout
    project.write("in.txt", "y")
    r = project.doit("talk")
    assert "said-something" in r.stdout and "ok      talk" in r.stdout
    r = project.doit("--verbosity", "2", "talk")
    assert "--      talk" in r.stdout  # up to date, shown
