"""``conjure.discover()``: standard tasks for every Go module and uv project under a folder.

A three-line dodo.py::

    import conjure
    DOIT_CONFIG = conjure.config(default_tasks=["test-all"])
    task_discovered = conjure.discover

For each Go module (a ``go.mod``) and each Python project (a ``pyproject.toml``), nested ones
included, it yields (``<m>`` is the module's folder, ``.`` shown as its last path element):

| task | what |
|---|---|
| ``go-build:<m>/<cmd>`` | ``go build`` of every main package into ``bin/`` of the module |
| ``go-vet:<m>``, ``go-fmt:<m>`` | ``go vet ./...``, ``gofmt -l`` |
| ``go-test-unit:<m>``, ``go-test:<m>`` | ``go test -short ./...``, ``go test ./...`` |
| ``py-sync:<p>`` | ``uv sync --locked`` |
| ``py-test-unit:<p>``, ``py-test:<p>`` | pytest ``-m unit`` (if declared, else all), pytest |
| ``py-lint:<p>``, ``py-typecheck:<p>`` | ruff, mypy (when ``uv.lock`` pins them) |

and the groups ``build``, ``check``, ``test-unit`` and ``test-all``. A Go module without
packages (every file behind a build tag, like Mage's ``magefiles/`` with its own ``go.mod``)
gets no tasks. Test reports go to ``cache/reports/``. Folders that are hidden, start with
``_``, or are ``node_modules``, ``vendor``, ``testdata``, ``cache``, ``build`` or ``dist``
are not searched.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["discover", "find_projects"]

Task = dict[str, Any]
_SKIP = frozenset({"node_modules", "vendor", "testdata", "cache", "build", "dist", "bin"})
_REPORTS = "cache/reports"
_KINDS = {
    "go-build": "go build, one subtask per binary.",
    "go-vet": "go vet ./..., one subtask per Go module.",
    "go-fmt": "gofmt -l, one subtask per Go module.",
    "go-test-unit": "go test -short ./..., one subtask per Go module.",
    "go-test": "go test ./..., one subtask per Go module.",
    "py-sync": "uv sync --locked, one subtask per Python project.",
    "py-test-unit": "pytest -m unit, one subtask per Python project.",
    "py-test": "pytest, one subtask per Python project.",
    "py-lint": "ruff, one subtask per Python project.",
    "py-typecheck": "mypy, one subtask per Python project.",
}


def find_projects(root: str = ".") -> tuple[list[str], list[str]]:
    """Folders (relative to ``root``, sorted) holding a ``go.mod`` and a ``pyproject.toml``."""
    go_modules: list[str] = []
    py_projects: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")) and d not in _SKIP)
        relative = Path(folder).relative_to(root).as_posix()
        if "go.mod" in names:
            go_modules.append(relative)
        if "pyproject.toml" in names:
            py_projects.append(relative)
    return go_modules, py_projects


def _py_label(project: str) -> str:
    if project != ".":
        return project
    try:
        data = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    return str(data.get("project", {}).get("name") or "root")


def _under(folder: str, path: str) -> str:
    return path if folder == "." else f"{folder}/{path}"


def _go_tasks(module: str, groups: dict[str, list[str]]) -> Iterator[Task]:
    from conjure import go

    found = go.listing(module)
    if not found.packages:  # e.g. Mage's magefiles/ with its own go.mod: build-tagged only
        return
    label = found.path.rsplit("/", 1)[-1] if module == "." else module
    for pkg in sorted(found.packages.values(), key=lambda p: p.dir):
        if pkg.name != "main" or "/tools/" in f"/{pkg.dir}/":
            continue
        binary = pkg.dir.rsplit("/", 1)[-1] if pkg.dir != "." else label.rsplit("/", 1)[-1]
        name = f"{label}/{binary}"
        yield go.build(
            "./" + pkg.dir,
            _under(module, f"bin/{binary}"),
            module=module,
            basename="go-build",
            name=name,
        )
        groups["build"].append(f"go-build:{name}")
    yield go.vet(module=module, basename="go-vet", name=label)
    yield go.fmt_check(module, basename="go-fmt", name=label)
    groups["check"] += [f"go-vet:{label}", f"go-fmt:{label}"]
    safe = label.replace("/", "-")
    yield go.test(
        module=module,
        short=True,
        report=f"{_REPORTS}/go-test-unit-{safe}.json",
        basename="go-test-unit",
        name=label,
    )
    yield go.test(
        module=module, report=f"{_REPORTS}/go-test-{safe}.json", basename="go-test", name=label
    )
    groups["test-unit"].append(f"go-test-unit:{label}")
    groups["test-all"].append(f"go-test:{label}")


def _markers(project: str) -> set[str]:
    try:
        data = tomllib.loads(Path(project, "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    declared = data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("markers", [])
    return {str(m).split(":", 1)[0].split("(", 1)[0].strip() for m in declared}


def _py_tasks(project: str, groups: dict[str, list[str]]) -> Iterator[Task]:
    from conjure import python

    label = _py_label(project)
    safe = label.replace("/", "-")
    yield python.sync(project, basename="py-sync", name=label)
    if not python.has_tool(project, "pytest"):
        return
    unit = "unit" if "unit" in _markers(project) else None
    yield python.test(
        project,
        markers=unit,
        junit=f"{_REPORTS}/py-test-unit-{safe}.xml",
        basename="py-test-unit",
        name=label,
    )
    yield python.test(
        project, junit=f"{_REPORTS}/py-test-{safe}.xml", basename="py-test", name=label
    )
    groups["test-unit"].append(f"py-test-unit:{label}")
    groups["test-all"].append(f"py-test:{label}")
    for tool, factory in (("ruff", python.lint), ("mypy", python.typecheck)):
        if python.has_tool(project, tool):
            kind = "lint" if tool == "ruff" else "typecheck"
            yield factory(project, basename=f"py-{kind}", name=label)
            groups["check"].append(f"py-{kind}:{label}")


def discover(root: str = ".") -> Iterator[Task]:
    """Yields the standard tasks of every Go module and uv project under ``root``.

    Raises:
        ConfigError: a Go module is found but ``go`` is missing (or uv for a Python project).
    """
    go_modules, py_projects = find_projects(root)
    groups: dict[str, list[str]] = {"build": [], "check": [], "test-unit": [], "test-all": []}
    tasks: list[Task] = []
    for module in go_modules:
        tasks += _go_tasks(_under(root, module) if root != "." else module, groups)
    for project in py_projects:
        tasks += _py_tasks(_under(root, project) if root != "." else project, groups)
    present = {task["basename"] for task in tasks}
    for basename, doc in _KINDS.items():  # a group's doc must come before its subtasks
        if basename in present:
            yield {"basename": basename, "name": None, "doc": doc}
    yield from tasks
    docs = {
        "build": "Build every binary.",
        "check": "Static checks: go vet, gofmt, ruff, mypy.",
        "test-unit": "Fast tests: go test -short, pytest -m unit.",
        "test-all": "Every test of every module and project.",
    }
    for group, deps in groups.items():
        yield {"basename": group, "doc": docs[group], "actions": None, "task_dep": deps}
