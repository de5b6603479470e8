"""Shared fixtures: a pinned environment and a helper that runs the real `doit` in a project."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOIT = str(Path(sys.executable).with_name("doit"))


@dataclass
class Project:
    """A temporary project folder with a dodo.py, run with the real doit."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def dodo(self, body: str, conjure: bool = True, config: str = "") -> Path:
        head = f"import conjure\nDOIT_CONFIG = conjure.config({config})\n" if conjure else ""
        return self.write("dodo.py", head + textwrap.dedent(body))

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CONJURE_", "DOIT_"))}
        env.update(
            {"CI": "true", "NO_COLOR": "1", "COLUMNS": "120", "PYTHONDONTWRITEBYTECODE": "1"}
        )
        env.update(extra)
        return env

    def doit(
        self, *args: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DOIT, *args],
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [DOIT, *args],
            cwd=self.root,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def log_lines(self, name: str = "log.txt") -> list[str]:
        path = self.root / name
        return path.read_text().split() if path.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield Project(tmp_path)
