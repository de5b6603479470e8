"""Coverage combined across suites and shards: Go cover profiles merged into one profile
(then ``go tool cover`` for HTML), Python data files through ``coverage combine``."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path


def is_profile_of(path: Path, suite: str) -> bool:
    """Whether a cover profile is one the suite runner wrote for a suite (``<suite>-N.out``)."""
    return re.fullmatch(rf"{re.escape(suite)}-\d+\.out", path.name) is not None


def merge_go_profiles(texts: Iterable[str]) -> str:
    """One Go cover profile from many (``mode:`` line, then ``file:range stmts count``).

    Blocks seen in several profiles are combined: counts add up in ``count``/``atomic``
    mode; in ``set`` mode a block is covered when any profile covered it.

    Raises:
        ValueError: the profiles have different modes.
    """
    mode = ""
    blocks: dict[tuple[str, str], int] = {}
    for text in texts:
        lines = text.splitlines()
        if not lines:
            continue
        this_mode = lines[0].removeprefix("mode:").strip()
        if mode and this_mode != mode:
            raise ValueError(f"cover profiles mix modes {mode!r} and {this_mode!r}")
        mode = this_mode
        for line in lines[1:]:
            block, _, count = line.rpartition(" ")
            if not block:
                continue
            place, _, statements = block.rpartition(" ")
            key = (place, statements)
            value = int(count)
            old = blocks.get(key, 0)
            blocks[key] = max(old, min(value, 1)) if mode == "set" else old + value
    if not mode:
        return ""
    body = [f"{place} {stmts} {count}" for (place, stmts), count in sorted(blocks.items())]
    return "\n".join([f"mode: {mode}", *body]) + "\n"


def go_percent(profile: str) -> float:
    """Statements covered, in percent, of a cover profile."""
    total = covered = 0
    for line in profile.splitlines()[1:]:
        parts = line.rsplit(" ", 2)
        if len(parts) != 3:
            continue
        stmts, count = int(parts[1]), int(parts[2])
        total += stmts
        covered += stmts if count > 0 else 0
    return 100.0 * covered / total if total else 0.0


def combine_go(folder: Path, out: Path, module: str | None) -> float | None:
    """Merges ``folder/*.out`` into ``out``; writes ``out`` with ``.html`` beside it when a
    module folder is given and go is available. Returns the percentage, or None."""
    profiles = sorted(folder.glob("*.out")) if folder.is_dir() else []
    return write_go_combined(profiles, out, module)


def write_go_combined(profiles: Sequence[Path], out: Path, module: str | None) -> float | None:
    """Merges cover profile files into ``out`` (+ ``.html`` when a module folder is given and
    go is available). Returns the percentage, or None when there is no profile.

    Raises:
        ValueError: the profiles have different modes, or one is not a cover profile.
    """
    if not profiles:
        return None
    merged = merge_go_profiles(p.read_text(encoding="utf-8") for p in profiles)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(merged, encoding="utf-8")
    if module is not None and shutil.which("go"):
        subprocess.run(
            [
                "go",
                "tool",
                "cover",
                f"-html={out.resolve()}",
                "-o",
                str(out.with_suffix(".html").resolve()),
            ],
            cwd=module,
            capture_output=True,
            check=False,
            timeout=300,
        )
    return go_percent(merged)


def combine_python(folder: Path, project: str, out: Path) -> str:
    """``coverage combine`` of the data files in ``folder``, then XML and HTML reports.

    Returns:
        The command's output (the combine step's report), or a note when there was nothing.
    """
    if not folder.is_dir() or not any(folder.glob(".coverage.*")):
        return ""
    return _combine_with(["uv", "run", "--directory", project, "coverage"], folder, out)


def coverage_command(project: str | None) -> list[str] | None:
    """How to run coverage.py: through the uv project that has it, else this interpreter's
    ``coverage`` module when it is importable, else None."""
    if project:
        return ["uv", "run", "--directory", project, "coverage"]
    if importlib.util.find_spec("coverage") is not None:
        return [sys.executable, "-m", "coverage"]
    return None


def combine_python_files(files: Sequence[Path], command: Sequence[str], out: Path) -> str:
    """Copies coverage data files into ``out``'s folder and combines them there (``out``
    ``.xml`` and ``-html/`` beside it). Returns the report's output."""
    folder = out.parent / f"{out.name}-data"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for number, path in enumerate(files, 1):
        shutil.copyfile(path, folder / f"{path.name}.{number}")
    return _combine_with(list(command), folder, out)


def _combine_with(base: list[str], folder: Path, out: Path) -> str:
    env = {**os.environ, "COVERAGE_FILE": str((folder / ".coverage").resolve())}
    env.pop("VIRTUAL_ENV", None)
    outputs = []
    for args in (
        ["combine", "--keep", str(folder.resolve())],
        ["xml", "-o", str(out.with_suffix(".xml").resolve())],
        ["html", "-d", str(out.with_suffix("").resolve()) + "-html"],
        ["report"],
    ):
        done = subprocess.run(
            [*base, *args], env=env, capture_output=True, text=True, check=False, timeout=600
        )
        outputs.append(done.stdout + done.stderr)
    return outputs[-1]
