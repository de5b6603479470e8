"""What a dodo.py author declares: suites made of pytest (through uv) and ``go test`` parts.

Everything here is plain data that can travel as JSON to the suite runner process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conjure.errors import ConfigError

_PRUNE = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache"})


@dataclass(frozen=True)
class PytestTests:
    """Tests run by pytest, through ``uv run`` in a uv project by default.

    Attributes:
        project: the folder of the Python project (its ``pyproject.toml``), relative to the
            dodo.py folder; node ids are relative to it.
        markers: a ``-m`` expression (``"unit"``, ``"api or database"``).
        paths: test folders or files inside the project.
        args: more pytest arguments.
        env: extra environment variables.
        uv: run ``uv run --directory PROJECT pytest`` (``--locked`` when there is a uv.lock);
            False runs ``python -m pytest`` with this interpreter.
        coverage: run under ``coverage run -p`` (the project's environment, or this
            interpreter when ``uv`` is False, must have coverage); one data file per pytest
            process in ``cache/testing/coverage/python/``, combined after the run.
        inputs: globs of the files the results depend on; by default every ``*.py`` file,
            ``pyproject.toml``, ``uv.lock`` and ``pytest.ini``/``setup.cfg``/``tox.ini`` of
            the project.
    """

    project: str = "."
    markers: str = ""
    paths: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    uv: bool = True
    coverage: bool = False
    inputs: tuple[str, ...] = ()

    kind = "pytest"

    def command(self) -> list[str]:
        """The command that starts pytest, before pytest's own arguments."""
        runner = ["coverage", "run", "-p", "-m", "pytest"] if self.coverage else ["pytest"]
        if not self.uv:
            return [sys.executable, "-m", *runner]
        lock = ["--locked"] if (Path(self.project) / "uv.lock").is_file() else []
        return ["uv", "run", *lock, "--directory", self.project, *runner]

    def input_files(self, exclude: str) -> list[str]:
        """The files the results depend on (see ``inputs``)."""
        patterns = self.inputs or (
            "**/*.py",
            "pyproject.toml",
            "uv.lock",
            "pytest.ini",
            "setup.cfg",
            "tox.ini",
        )
        return glob_files(self.project, patterns, exclude)


@dataclass(frozen=True)
class GoTests:
    """Tests run by ``go test -json`` in a Go module.

    Attributes:
        module: the module's folder (its ``go.mod``), relative to the dodo.py folder.
        packages: package patterns (``./...``, ``./internal/api``).
        run: a ``-run`` regular expression.
        skip: a ``-skip`` regular expression.
        tags: build tags (``integration``).
        short: pass ``-short``.
        race: pass ``-race``.
        args: more ``go test`` arguments.
        env: extra environment variables.
        coverage: write a cover profile (merged across suites and shards into one report).
        inputs: globs of the files the results depend on; by default every file of the
            module outside hidden folders.
    """

    module: str = "."
    packages: tuple[str, ...] = ("./...",)
    run: str = ""
    skip: str = ""
    tags: tuple[str, ...] = ()
    short: bool = False
    race: bool = False
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    coverage: bool = False
    inputs: tuple[str, ...] = ()

    kind = "go"

    def flags(self) -> list[str]:
        """``go test`` flags shared by listing and running."""
        flags = []
        if self.tags:
            flags.append("-tags=" + ",".join(self.tags))
        if self.short:
            flags.append("-short")
        if self.race:
            flags.append("-race")
        return [*flags, *self.args]

    def input_files(self, exclude: str) -> list[str]:
        """The files the results depend on (see ``inputs``)."""
        return glob_files(self.module, self.inputs or ("**/*",), exclude)


Tests = PytestTests | GoTests


class Suite:
    """A named set of tests: ``doit test-<name>`` runs it.

    Args:
        name: the suite's name (letters, digits, ``-``, ``_``).
        *tests: its parts (``PytestTests``, ``GoTests``).
        doc: one line for ``doit list``.
        setup: commands run before the suite, as a task (``test-<name>-setup``).
        teardown: commands run at the end of the run when the setup ran, even when tests
            failed.
        timeout: seconds; the suite's processes are killed after it and the tests that had
            not finished are reported as failures with their last output.
        slow: left out by ``doit test-all --skip-slow``.
        task_dep: tasks to run first (a build the tests need).
        file_dep: more files the results depend on (a binary the tests start).

    Raises:
        ConfigError: a bad name, no tests, or a bad timeout.
    """

    def __init__(
        self,
        name: str,
        *tests: Tests,
        doc: str = "",
        setup: Sequence[str | list[str]] = (),
        teardown: Sequence[str | list[str]] = (),
        timeout: float | None = None,
        slow: bool = False,
        task_dep: Sequence[str] = (),
        file_dep: Sequence[str] = (),
    ) -> None:
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ConfigError(f"invalid suite name {name!r}: use letters, digits, - and _")
        if not tests:
            raise ConfigError(f"suite {name!r} has no tests: give PytestTests or GoTests")
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"suite {name!r}: timeout must be a positive number of seconds")
        self.name = name
        self.tests = tuple(tests)
        self.doc = doc or f"Test suite {name}."
        self.setup = list(setup)
        self.teardown = list(teardown)
        self.timeout = timeout
        self.slow = slow
        self.task_dep = list(task_dep)
        self.file_dep = list(file_dep)

    def as_dict(self) -> dict[str, Any]:
        """The suite as JSON-ready data (what the runner process receives)."""
        return {
            "name": self.name,
            "timeout": self.timeout,
            "tests": [{"kind": t.kind, **_plain(asdict(t))} for t in self.tests],
        }

    def __repr__(self) -> str:
        return f"Suite({self.name!r}, {len(self.tests)} parts)"


def tests_from_dict(data: Mapping[str, Any]) -> Tests:
    """A suite part from ``Suite.as_dict()`` data."""
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "kind"
    }
    return PytestTests(**values) if data["kind"] == "pytest" else GoTests(**values)


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def glob_files(folder: str, patterns: Iterable[str], exclude: str) -> list[str]:
    """Files under ``folder`` matching globs, as sorted paths relative to the current folder.

    Hidden folders, virtual environments, ``node_modules``, ``__pycache__`` and the
    ``exclude`` folder (the cache) are not searched.
    """
    base = Path(folder)
    excluded = Path(exclude).resolve()
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(base):
        current = Path(dirpath)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _PRUNE and not d.startswith(".") and (current / d).resolve() != excluded
        )
        for filename in filenames:
            relative = (current / filename).relative_to(base)
            if any(relative.match(p) or _rooted_match(relative, p) for p in patterns):
                found.add(os.path.normpath(current / filename))
    return sorted(found)


def _rooted_match(relative: Path, pattern: str) -> bool:
    """``**/x`` also matches ``x`` at the top (pathlib's match before 3.13 does not)."""
    return pattern.startswith("**/") and relative.match(pattern[3:])
