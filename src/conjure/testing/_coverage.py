"""Coverage combined across suites and shards: Go cover profiles merged into one profile
(then ``go tool cover`` for HTML), Python data files through ``coverage combine``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path


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
    if not profiles:
        return None
    merged = merge_go_profiles(p.read_text(encoding="utf-8") for p in profiles)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(merged, encoding="utf-8")
    if module is not None:
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
    env = {**os.environ, "COVERAGE_FILE": str((folder / ".coverage").resolve())}
    env.pop("VIRTUAL_ENV", None)
    base = ["uv", "run", "--directory", project, "coverage"]
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
