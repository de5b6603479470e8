"""Python task factories for uv projects: sync, test (pytest), lint (ruff), typecheck (mypy).

Each factory returns a doit task dict; extra keyword arguments (``name``, ``basename``,
``doc``, ``task_dep``, ``timeout``...) are added to it. ``project`` is the folder holding
``pyproject.toml`` and ``uv.lock``, relative to the dodo.py folder::

    from conjure import python

    def task_py_sync():
        return python.sync("addon")

    def task_test_py_unit():
        return python.test("addon", markers="unit", junit="cache/junit/unit.xml")

What is part of the key: ``pyproject.toml`` and ``uv.lock`` (file deps), the uv version
(``uv --version``, in the definition), the Python version (``.python-version`` when present,
and ``.venv/pyvenv.cfg``, which records the interpreter and the uv that made it). Commands run
through ``uv run --locked`` with ``VIRTUAL_ENV`` unset, so an outer virtualenv never leaks in.
A missing ``uv`` raises ``ConfigError`` (exit code 2).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from doit.action import CmdAction

from conjure._tasks import finish
from conjure.errors import ConfigError
from conjure.shell import files

__all__ = ["has_tool", "lint", "sync", "test", "typecheck"]

Task = dict[str, Any]
MISSING_UV = (
    "uv not found: install uv (https://docs.astral.sh/uv/), or run this inside the dev container"
)
_ENV: dict[str, str | None] = {"VIRTUAL_ENV": None}
_SOURCES = ("**/*.py", "**/*.pyi")


@functools.cache
def uv_version() -> str:
    """``uv --version`` (cached per process).

    Raises:
        ConfigError: uv is not on PATH or does not run.
    """
    found = shutil.which("uv")
    if found is None:
        raise ConfigError(MISSING_UV)
    try:
        done = subprocess.run([found, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise ConfigError(MISSING_UV) from None
    return done.stdout.strip()


def _in(project: str, path: str) -> str:
    return Path(os.path.normpath(os.path.join(project, path))).as_posix()


def _project_files(project: str) -> list[str]:
    names = ["pyproject.toml", "uv.lock", ".python-version"]
    if not Path(project, "pyproject.toml").is_file():
        raise ConfigError(f"{project}: no pyproject.toml (not a Python project)")
    return [_in(project, n) for n in names if Path(project, n).is_file()]


def _venv_marker(project: str) -> str:
    return _in(project, ".venv/pyvenv.cfg")


def _uv_command(argv: Sequence[str], uv: str) -> list[str]:
    """The command's argv; ``uv`` (the version) is only there to be part of the definition."""
    del uv
    return list(argv)


def _action(argv: Sequence[str], project: str) -> CmdAction:
    return CmdAction((_uv_command, (tuple(argv), uv_version()), {}), cwd=project)


def _sources(project: str, inputs: Sequence[str]) -> list[str]:
    found = files(*_SOURCES, *inputs, root=project)
    return [_in(project, f) for f in found if not f.startswith(("build/", "dist/", "cache/"))]


def sync(project: str = ".", *, groups: Sequence[str] = (), **task: Any) -> Task:
    """A task running ``uv sync --locked`` (fails when ``uv.lock`` is stale).

    Its target is ``.venv/pyvenv.cfg``; ``test``, ``lint`` and ``typecheck`` depend on it, so
    they run after it and re-run when the interpreter or uv that made the venv changes.
    """
    argv = ["uv", "sync", "--locked", *(f"--group={g}" for g in groups)]
    return finish(
        {
            "doc": f"uv sync --locked in {project}",
            "actions": [_action(argv, project)],
            "file_dep": _project_files(project),
            "targets": [_venv_marker(project)],
            "env": dict(_ENV),
        },
        task,
    )


def _run_task(
    project: str,
    argv: list[str],
    inputs: Sequence[str],
    venv: bool,
    env: Mapping[str, str | None] | None = None,
) -> Task:
    deps = _project_files(project) + _sources(project, inputs)
    if venv:
        deps.append(_venv_marker(project))
    return {
        "actions": [_action(["uv", "run", "--locked", *argv], project)],
        "file_dep": sorted(set(deps)),
        "env": {**_ENV, **(env or {})},
    }


def test(
    project: str = ".",
    *,
    markers: str | None = None,
    paths: Sequence[str] = (),
    junit: str | None = None,
    durations: int | None = 10,
    args: Sequence[str] = (),
    inputs: Sequence[str] = (),
    venv: bool = True,
    env: Mapping[str, str | None] | None = None,
    **task: Any,
) -> Task:
    """A task running pytest through ``uv run --locked``.

    Args:
        project: the uv project folder.
        markers: a ``-m`` expression (``"unit"``, ``"not slow"``).
        paths: test paths, relative to the project.
        junit: JUnit XML report, relative to the dodo.py folder (a target).
        durations: ``--durations=N`` (the N slowest tests); ``None`` leaves it out.
        args: more pytest arguments.
        inputs: more input globs, relative to the project (``*.py`` are always inputs).
        venv: depend on the venv made by ``sync`` (``.venv/pyvenv.cfg``).
        env: variables set for pytest (``None`` unsets one); part of the definition.
        **task: more task keys.
    """
    argv = ["pytest", "-q"]
    argv += ["-m", markers] if markers else []
    argv += [f"--durations={durations}"] if durations is not None else []
    if junit:
        argv.append(f"--junitxml={_relative(junit, project)}")
    argv += [*args, *paths]
    result = _run_task(project, argv, inputs, venv, env)
    result["doc"] = "pytest" + (f" -m {markers!r}" if markers else "") + f" in {project}"
    result["targets"] = [junit] if junit else []
    return finish(result, task)


def _relative(path: str, project: str) -> str:
    if project in ("", "."):
        return path
    return Path(os.path.relpath(path, project)).as_posix()


def lint(project: str = ".", *, fmt: bool = True, inputs: Sequence[str] = (), **task: Any) -> Task:
    """A task running ``ruff check`` (and ``ruff format --check`` with ``fmt``) in the
    project's environment (ruff must be one of its dependencies; see ``has_tool``)."""
    result = _run_task(project, ["ruff", "check", "."], inputs, True)
    if fmt:
        result["actions"].append(
            _action(["uv", "run", "--locked", "ruff", "format", "--check", "."], project)
        )
    result["doc"] = f"ruff check{' + format --check' if fmt else ''} in {project}"
    return finish(result, task)


def typecheck(
    project: str = ".", *, paths: Sequence[str] = (".",), inputs: Sequence[str] = (), **task: Any
) -> Task:
    """A task running ``mypy`` on paths in the project's environment (mypy must be one of
    its dependencies; see ``has_tool``)."""
    result = _run_task(project, ["mypy", *paths], inputs, True)
    result["doc"] = f"mypy in {project}"
    return finish(result, task)


def has_tool(project: str, name: str) -> bool:
    """Tells whether the project's ``uv.lock`` pins a package (``ruff``, ``mypy``)."""
    try:
        text = Path(project, "uv.lock").read_text(encoding="utf-8")
    except OSError:
        return False
    return f'\nname = "{name}"\n' in text
