"""Fixtures for the output cache tests: a git repository with cacheable tasks, and clones."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project

DODO = '''
import os

def _log(name):
    return f"echo {name} >> {os.environ['EXEC_LOG']}"

def task_gen():
    """Creates a file, an executable and a folder of outputs from in.txt."""
    return {
        "file_dep": ["in.txt"],
        "targets": ["out/upper.txt", "out/tool.sh", "out/pages"],
        "actions": [
            _log("gen"),
            "mkdir -p out/pages/sub && tr a-z A-Z < in.txt > out/upper.txt",
            "printf '#!/bin/sh\\\\necho tool\\\\n' > out/tool.sh && chmod 750 out/tool.sh",
            "echo page1 > out/pages/one.html && echo page2 > out/pages/sub/two.html",
            "echo generated the outputs",
        ],
    }

def task_use():
    """Uses gen's output."""
    return {
        "file_dep": ["out/upper.txt"],
        "targets": ["final.txt"],
        "actions": [_log("use"), "cat out/upper.txt out/upper.txt > final.txt"],
    }

def task_check():
    """A check with no targets: up to date through the state, never restored."""
    return {"file_dep": ["final.txt"], "actions": [_log("check"), "test -s final.txt"]}
'''

OUTPUTS = [
    "out/upper.txt",
    "out/tool.sh",
    "out/pages/one.html",
    "out/pages/sub/two.html",
    "final.txt",
]


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


class Repo(Project):
    """A project whose actions log to ``EXEC_LOG`` (outside the project)."""

    log: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.doit(*args, EXEC_LOG=str(self.log), **env)

    def executed(self) -> list[str]:
        names = self.log.read_text().split() if self.log.exists() else []
        self.log.unlink(missing_ok=True)
        return names

    def clone(self, where: Path, with_cache: bool = True) -> Repo:
        subprocess.run(["git", "clone", "-q", str(self.root), str(where)], check=True)
        if with_cache:
            shutil.copytree(self.root / "cache", where / "cache")
        other = Repo(where)
        other.log = where.parent / f"{where.name}.log"
        return other


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Content and mode of every output."""
    return {p: ((root / p).read_bytes(), (root / p).stat().st_mode) for p in OUTPUTS}


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    root = tmp_path / "origin"
    root.mkdir()
    made = Repo(root)
    made.log = tmp_path / "origin.log"
    made.dodo(DODO)
    made.write("in.txt", "hello cache\n")
    made.write(".gitignore", "cache/\nout/\nfinal.txt\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    yield made
