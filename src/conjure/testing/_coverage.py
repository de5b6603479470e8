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
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True)
class CoverageSpec:
    """How coverage is combined after a run (``test_tasks`` derives one from the parts that
    have ``coverage=True`` when none is given).

    Attributes:
        go_module: the Go module folder for ``go tool cover -html``, or None.
        python_project: the Python project folder whose coverage.py combines and reports,
            with the project's own coverage configuration (``source``, ``omit``,
            ``relative_files``, ``[paths]``), or None for this interpreter's, here.
        python_uv: run that coverage.py as ``uv run --directory PROJECT coverage`` (the
            project's environment); False: this interpreter's coverage module, in PROJECT.
    """

    go_module: str | None = None
    python_project: str | None = None
    python_uv: bool = True


def coverage_files(cover: Path, suites: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """The Go cover profiles (``go/<suite>-N.out``) and Python data files
    (``python/.coverage.<suite>.*``) the suite runner wrote for these suites under ``cover``."""
    go = [
        p for s in suites for p in sorted((cover / "go").glob(f"{s}-*.out")) if is_profile_of(p, s)
    ]
    python = [p for s in suites for p in sorted((cover / "python").glob(f".coverage.{s}.*"))]
    return go, python


def combine_coverage(
    cover: Path, go: Sequence[Path], python: Sequence[Path], spec: CoverageSpec | None
) -> dict[str, Any]:
    """Combines a run's coverage into one report per language, next to each other in
    ``cover``: ``go-combined.out`` (+ ``.html``), ``python.xml`` and ``python-html/``.

    Returns:
        The summary's ``coverage`` entry: ``go_percent``/``go_profile``,
        ``python_percent``/``python_xml``/``python_html``, and ``notes`` when something could
        not be combined.

    Raises:
        ValueError: the Go profiles have different modes, or one is not a cover profile.
    """
    found: dict[str, Any] = {}
    percent = write_go_combined(go, cover / "go-combined.out", spec.go_module if spec else None)
    if percent is not None:
        found["go_percent"] = round(percent, 1)
        found["go_profile"] = str(cover / "go-combined.out")
    if not python:
        return found
    command = python_coverage(spec)
    if command is None:
        found["notes"] = [
            f"{len(python)} Python coverage data file(s) not combined: coverage is not "
            "importable here (add it to the environment, or pass "
            "CoverageSpec(python_project=...) to test_tasks)"
        ]
        return found
    total, problem = combine_python_files(python, command, cover / "python")
    if problem:
        found["notes"] = [f"Python coverage not combined: {problem}"]
        return found
    found.update(
        python_percent=total,
        python_xml=str(cover / "python.xml"),
        python_html=str(cover / "python-html" / "index.html"),
    )
    return found


@dataclass(frozen=True)
class CoverageCommand:
    """How to run coverage.py: the words before its subcommand, and in which folder."""

    words: tuple[str, ...]
    cwd: str | None


def python_coverage(spec: CoverageSpec | None) -> CoverageCommand | None:
    """coverage.py of the spec's project (through uv, or this interpreter's in the project
    folder), else this interpreter's here; None when it is not importable."""
    if spec is not None and spec.python_project and spec.python_uv:
        return CoverageCommand(("uv", "run", "--directory", spec.python_project, "coverage"), None)
    if importlib.util.find_spec("coverage") is None:
        return None
    return CoverageCommand(
        (sys.executable, "-m", "coverage"), spec.python_project if spec else None
    )


def combine_python_files(
    files: Sequence[Path], command: CoverageCommand, out: Path
) -> tuple[float | None, str]:
    """``coverage combine`` of data files, then ``out``.xml and ``out``-html/.

    The files are copied into ``out``-data/ first (the originals stay where they are, for
    ``ci-merge`` and for the next combine). Relative paths in them (``relative_files``) are
    resolved from the command's folder, the project's.

    Returns:
        The total percentage, and "" or what went wrong (the failing step and its last line).
    """
    folder = out.parent / f"{out.name}-data"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for number, path in enumerate(files, 1):
        shutil.copyfile(path, folder / f"{path.name}.{number}")
    html = out.with_name(out.name + "-html").resolve()
    shutil.rmtree(html, ignore_errors=True)
    env = {**os.environ, "COVERAGE_FILE": str((folder / ".coverage").resolve())}
    env.pop("VIRTUAL_ENV", None)
    output = ""
    for args in (
        ["combine", "--keep", "--quiet", str(folder.resolve())],
        ["xml", "--quiet", "-o", str(out.with_suffix(".xml").resolve())],
        ["html", "--quiet", "-d", str(html)],
        ["report", "--format=total"],
    ):
        output, problem = _coverage_step(command, args, env)
        if problem:
            return None, problem
    try:
        return float(output.splitlines()[-1]), ""
    except (ValueError, IndexError):
        return None, f"coverage report printed no total: {output[-200:]!r}"


def _coverage_step(
    command: CoverageCommand, args: list[str], env: dict[str, str]
) -> tuple[str, str]:
    """Runs one coverage.py subcommand; returns its output and "" or what went wrong."""
    try:
        done = subprocess.run(
            [*command.words, *args],
            cwd=command.cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return "", f"coverage {args[0]}: {err}"
    output = done.stdout.strip()
    if done.returncode != 0:
        said = [line for line in f"{output}\n{done.stderr}".splitlines() if line[:1].strip()]
        last = said[-1].partition(" CoverageWarning: ")[2] or said[-1] if said else "no output"
        return output, f"coverage {args[0]} failed (exit {done.returncode}): {last[:300]}"
    return output, ""
