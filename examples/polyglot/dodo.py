"""Tasks for the polyglot example: a Go render-farm server and worker plus a Python add-on.

Run from anywhere with ``doit -f examples/polyglot/dodo.py <task>`` (paths are relative to
this folder); with no task, ``test-all`` runs. File dependencies come from ``go list`` and the
add-on's files, so a second run with nothing changed does nothing.
"""

from __future__ import annotations

from pathlib import Path

import conjure
from conjure import go, python

DOIT_CONFIG = conjure.config(default_tasks=["test-all"])

STAMP = go.git_stamp("example.com/polyglot/internal/version")
SERVER = Path(__file__).resolve().parent / "bin" / "server"


def task_generate():
    """Regenerate internal/jobs/status_string.go with go generate."""
    return go.generate(
        "./internal/jobs",
        outputs=["internal/jobs/status_string.go"],
        uses=["./internal/tools/genstatus"],
    )


def task_build():
    """Build the Go binaries into bin/, stamped with the git version."""
    for command in ("server", "worker"):
        yield go.build(f"./cmd/{command}", name=command, x=STAMP)


def task_vet():
    """Run go vet, with and without the integration build tag."""
    yield go.vet(name="default")
    yield go.vet(tags=["integration"], name="integration")


def task_fmt_check():
    """Fail if any Go file is not gofmt-formatted."""
    return go.fmt_check(basename="fmt-check")


def task_test_go():
    """Go unit tests (-short: skips TestSlowRender)."""
    return go.test(short=True, report="cache/reports/go-unit.json", basename="test-go")


def task_test_go_slow():
    """The Go tests that -short skips (TestSlowRender, about 2 s)."""
    return go.test("./internal/render", run="Slow", basename="test-go-slow")


def task_test_go_integration():
    """Go integration tests: the API and embedded dashboard behind a real listener."""
    return go.test(tags=["integration"], run="Integration", basename="test-go-integration")


def task_py_sync():
    """Create addon/.venv from addon/uv.lock (fails if the lock is stale)."""
    return python.sync("addon", basename="py-sync")


def task_test_py():
    """The add-on's tests, one task per pytest marker (test-py-unit, test-py-api, ...)."""
    for marker in ("unit", "api", "performance", "database"):
        yield python.test("addon", markers=marker, basename=f"test-py-{marker}")
    yield python.test(
        "addon",
        markers="integration",
        env={"POLYGLOT_SERVER_BIN": str(SERVER)},
        inputs=["../bin/server"],
        basename="test-py-integration",
        doc="Python client against the real Go server (built by build:server).",
    )


def task_test_unit():
    """The fast unit tests of both languages."""
    return {"basename": "test-unit", "actions": None, "task_dep": ["test-go", "test-py-unit"]}


def task_test_all():
    """Every test: Go (short, slow, integration) and every Python marker."""
    names = ["test-go", "test-go-slow", "test-go-integration"]
    names += [f"test-py-{m}" for m in ("unit", "api", "integration", "performance", "database")]
    return {"basename": "test-all", "actions": None, "task_dep": names}


def task_check():
    """Static checks: go vet and gofmt."""
    return {"actions": None, "task_dep": ["vet", "fmt-check"]}
