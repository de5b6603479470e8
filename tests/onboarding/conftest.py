"""Fixtures for scripts/onboard.sh: a fresh copy of this repository and a pinned environment.

The copy is a ``git clone`` of the repository these tests live in, plus its uncommitted
changes (modified and untracked files, deleted files removed), so what is tested is the
working tree, as a new team member would get it after the next commit. Each copy has no
``.venv`` and no ``cache/``: the first run is a new machine's first run (uv's package cache is
shared, as on any machine that has used uv before).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = (
    "python",
    "git",
    "uv",
    "sync",
    "go",
    "goenv",
    "docker",
    "image",
    "remote",
    "doctor",
    "smoke",
)
STEP_LINE = re.compile(
    r"^(?P<status>ok|fixed|warning|failed|skipped) +(?P<step>\w+) +(?P<secs>\d+\.\d)s  (?P<text>.*)$"
)
STRIPPED = ("CONJURE_", "DOIT_", "GO", "VIRTUAL_ENV", "UV_PROJECT", "PYTHONUSERBASE")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def copy_repo(dest: Path) -> Path:
    """A clone of ROOT's HEAD in ``dest`` with ROOT's uncommitted changes applied."""
    if not (ROOT / ".git").exists():
        ignore = shutil.ignore_patterns(".venv", "cache", "__pycache__", ".*_cache")
        shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
        return dest
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)],
        check=True,
        capture_output=True,
    )
    changed = _git("ls-files", "-z", "--modified", "--others", "--exclude-standard")
    for name in filter(None, changed.split("\0")):
        source, target = ROOT / name, dest / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif not source.exists():
            target.unlink(missing_ok=True)
    return dest


@dataclass
class Run:
    """One run of the script: exit code, output, wall time and the parsed step lines."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def steps(self) -> dict[str, tuple[str, str]]:
        """step name -> (status, text after the time)."""
        found = {}
        for line in self.stdout.splitlines():
            match = STEP_LINE.match(line)
            if match:
                found[match["step"]] = (match["status"], match["text"])
        return found

    def status(self, step: str) -> str:
        return self.steps[step][0]

    def text(self, step: str) -> str:
        return self.steps[step][1]


@dataclass
class Checkout:
    """A copy of the repository and the environment the script runs with."""

    root: Path
    goenv: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED)}
        env.update({"NO_COLOR": "1", "CI": "true", "GOENV": str(self.goenv)})
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(extra)
        return env

    def onboard(self, *args: str, timeout: float = 600, **extra: str) -> Run:
        start = time.monotonic()
        done = subprocess.run(
            ["bash", str(self.root / "scripts" / "onboard.sh"), *args],
            cwd=self.root,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkout]:
    base = tmp_path_factory.mktemp("onboard")
    yield Checkout(copy_repo(base / "repo"), base / "go.env")
