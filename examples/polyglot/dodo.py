"""Tasks for the polyglot example: a Go render-farm server and worker plus a Python add-on.

Run from anywhere with ``doit -f examples/polyglot/dodo.py <task>``; doit runs every
action with this file's folder as the working directory, so all paths below are
relative to it. ``doit list`` shows the tasks; with no task, ``test-all`` runs.

Every task that can be skipped lists its inputs in ``file_dep`` (globbed once, when
this file loads), so a second run with nothing changed does nothing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

from doit.tools import config_changed

import conjure

DOIT_CONFIG = conjure.config(default_tasks=["test-all"])

HERE = Path(__file__).resolve().parent
MODULE = "example.com/polyglot"
COMMANDS = ("server", "worker")
ADDON = "addon"
UV_RUN = ["uv", "run", "--locked", "--directory", ADDON]


def _files(pattern: str, *, exclude_tests: bool = False) -> list[str]:
    """Returns the files under HERE matching a glob, relative to HERE and sorted."""
    found = sorted(p.relative_to(HERE).as_posix() for p in HERE.glob(pattern) if p.is_file())
    if exclude_tests:
        found = [f for f in found if not f.endswith("_test.go")]
    return found


def _git(*args: str) -> str:
    """Returns git's output, or "" when git is missing or the folder has no commits."""
    try:
        result = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _version_flags() -> str:
    """Returns the -ldflags value stamping version, commit and commit date.

    The date is the commit's, not the build's, so the same commit always gives the
    same flags (and the same binary).
    """
    commit, _, date = _git("log", "-1", "--format=%h %cI").partition(" ")
    stamp = {
        "Version": _git("describe", "--always", "--dirty") or "dev",
        "GitHash": commit or "unknown",
        "BuildDate": date or "unknown",
    }
    return " ".join(f"-X {MODULE}/internal/version.{key}={value}" for key, value in stamp.items())


GO_MOD = _files("go.mod") + _files("go.sum")
GO_ALL = GO_MOD + _files("**/*.go")
GENERATOR = _files("internal/tools/genstatus/*.go", exclude_tests=True)
GENERATED = "internal/jobs/status_string.go"
WEB = _files("web/*.go", exclude_tests=True) + _files("web/static/**/*")
PY_PROJECT = [f"{ADDON}/pyproject.toml", f"{ADDON}/uv.lock"]
PY_ALL = PY_PROJECT + _files(f"{ADDON}/src/**/*.py") + _files(f"{ADDON}/tests/**/*.py")
PY_VENV = f"{ADDON}/.venv/pyvenv.cfg"
LDFLAGS = _version_flags()


def _binary_sources(command: str) -> list[str]:
    """Returns what one binary is built from: its main package, the non-tool internal
    packages, the embedded web files and go.mod (test files excluded)."""
    internal = [f for f in _files("internal/**/*.go", exclude_tests=True) if "/tools/" not in f]
    main = _files(f"cmd/{command}/*.go", exclude_tests=True)
    return sorted(set(GO_MOD + main + internal + WEB) | {GENERATED})


def task_generate() -> dict:
    """Regenerate internal/jobs/status_string.go with go generate."""
    return {
        "actions": [["go", "generate", "./internal/jobs"]],
        "file_dep": GENERATOR + ["internal/jobs/status.go"],
        "targets": [GENERATED],
    }


def task_build() -> Iterator[dict]:
    """Build the Go binaries into bin/, stamped with the git version."""
    for command in COMMANDS:
        output = f"bin/{command}"
        yield {
            "name": command,
            "doc": f"go build -o {output} ./cmd/{command}",
            "actions": [
                ["go", "build", "-trimpath", "-buildvcs=false", "-ldflags", LDFLAGS,
                 "-o", output, f"./cmd/{command}"],
            ],
            "file_dep": _binary_sources(command),
            "targets": [output],
            "uptodate": [config_changed(LDFLAGS)],
            "clean": True,
        }


def task_vet() -> dict:
    """Run go vet, with and without the integration build tag."""
    return {
        "actions": [["go", "vet", "./..."], ["go", "vet", "-tags", "integration", "./..."]],
        "file_dep": GO_ALL,
    }


def task_fmt_check() -> dict:
    """Fail if any Go file is not gofmt-formatted."""
    return {
        "basename": "fmt-check",
        "actions": ['out="$(gofmt -l .)"; test -z "$out" || { echo "not gofmt-ed:"; echo "$out"; exit 1; }'],
        "file_dep": GO_ALL,
    }


def task_test_go() -> dict:
    """Go unit tests (-short: skips TestSlowRender)."""
    return {"basename": "test-go", "actions": [["go", "test", "-short", "./..."]], "file_dep": GO_ALL}


def task_test_go_slow() -> dict:
    """The Go tests that -short skips (TestSlowRender, about 2 s)."""
    return {
        "basename": "test-go-slow",
        "actions": [["go", "test", "-run", "Slow", "./internal/render"]],
        "file_dep": GO_ALL,
    }


def task_test_go_integration() -> dict:
    """Go integration tests: the API and embedded dashboard behind a real listener."""
    return {
        "basename": "test-go-integration",
        "actions": [["go", "test", "-tags", "integration", "-run", "Integration", "./..."]],
        "file_dep": GO_ALL,
    }


def task_py_sync() -> dict:
    """Create addon/.venv from addon/uv.lock (fails if the lock is stale)."""
    return {
        "basename": "py-sync",
        "actions": [["uv", "sync", "--locked", "--directory", ADDON]],
        "file_dep": PY_PROJECT,
        "targets": [PY_VENV],
    }


def _pytest_task(marker: str, doc: str, **extra: object) -> dict:
    """Returns a task that runs the add-on's tests with one marker."""
    task = {
        "basename": f"test-py-{marker}",
        "doc": doc,
        "actions": [[*UV_RUN, "pytest", "-m", marker, "-q"]],
        "file_dep": PY_ALL,
        "task_dep": ["py-sync"],
    }
    task.update(extra)
    return task


def task_test_py_unit() -> dict:
    return _pytest_task("unit", "Python unit tests: frame ranges and job specs.")


def task_test_py_api() -> dict:
    return _pytest_task("api", "Python client against an in-process fake server.")


def task_test_py_performance() -> dict:
    return _pytest_task("performance", "Python timing check on a large frame range.")


def task_test_py_database() -> dict:
    return _pytest_task("database", "Python job archive on SQLite in a temporary folder.")


def task_test_py_integration() -> dict:
    """Python client against the real Go server built by build:server."""
    server = "bin/server"
    env = f"POLYGLOT_SERVER_BIN={HERE / server}"
    return _pytest_task(
        "integration",
        "Python client against the real Go server (built by build:server).",
        actions=[["env", env, *UV_RUN, "pytest", "-m", "integration", "-q"]],
        file_dep=[*PY_ALL, server],
    )


def task_test_unit() -> dict:
    """The fast unit tests of both languages."""
    return {"basename": "test-unit", "actions": None, "task_dep": ["test-go", "test-py-unit"]}


def task_test_all() -> dict:
    """Every test: Go (short, slow, integration) and every Python marker."""
    return {
        "basename": "test-all",
        "actions": None,
        "task_dep": [
            "test-go",
            "test-go-slow",
            "test-go-integration",
            "test-py-unit",
            "test-py-api",
            "test-py-integration",
            "test-py-performance",
            "test-py-database",
        ],
    }


def task_check() -> dict:
    """Static checks: go vet and gofmt."""
    return {"actions": None, "task_dep": ["vet", "fmt-check"]}
