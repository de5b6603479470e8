"""conjure.go on the real Go toolchain: exact file deps, params, test reports, go list cache."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.conftest import Project
from tests.library.conftest import last_run, requires_go

pytestmark = requires_go

DODO = """
from conjure import go

def task_build():
    for cmd in ("server", "worker"):
        yield go.build(f"./cmd/{cmd}", name=cmd, x=go.git_stamp("example.com/polyglot/internal/version"))

def task_test_go():
    return go.test(short=True, report="cache/go-test.json", basename="test-go")
"""


def _append(project: Project, relative: str, text: str = "\n// edited\n") -> None:
    with (project.root / relative).open("a") as handle:
        handle.write(text)


def test_editing_a_test_file_reruns_tests_but_not_the_build(workspace: Project) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("build", "test-go")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (workspace.root / "bin" / "server").is_file()

    _append(workspace, "internal/render/render_test.go")
    r = workspace.doit("build", "test-go")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, up_to_date = last_run(workspace)
    assert "test-go" in ran
    assert {"build:server", "build:worker"} <= up_to_date


def test_editing_one_package_rebuilds_only_the_binaries_importing_it(workspace: Project) -> None:
    workspace.dodo(DODO)
    assert workspace.doit("build").returncode == 0

    _append(workspace, "internal/render/render.go")  # imported by cmd/worker only
    r = workspace.doit("build")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, up_to_date = last_run(workspace)
    assert "build:worker" in ran
    assert "build:server" in up_to_date

    _append(workspace, "web/static/style.css", "\n/* edited */\n")  # embedded by the server
    r = workspace.doit("build")
    ran, up_to_date = last_run(workspace)
    assert "build:server" in ran
    assert "build:worker" in up_to_date


def test_version_is_stamped_and_a_changed_go_env_rebuilds(workspace: Project) -> None:
    workspace.dodo(DODO)
    assert workspace.doit("build:worker").returncode == 0
    done = subprocess.run(
        [str(workspace.root / "bin" / "worker"), "-version"], capture_output=True, text=True
    )
    assert "dev" in done.stdout + done.stderr  # git_stamp outside a checkout
    r = workspace.doit("build:worker", GOFLAGS="-mod=mod")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, _ = last_run(workspace)
    assert "build:worker" in ran  # GOFLAGS is part of the definition


def test_go_test_report_has_per_test_results_and_durations(workspace: Project) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("test-go")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok   example.com/polyglot/internal/render" in r.stdout
    report = json.loads((workspace.root / "cache" / "go-test.json").read_text())
    tests = {(t["package"], t["test"]): t for t in report["tests"]}
    slow = tests[("example.com/polyglot/internal/render", "TestSlowRender")]
    assert slow["result"] == "skip"  # -short
    assert report["totals"]["pass"] > 10
    assert all(t["seconds"] >= 0 for t in report["tests"])


def test_run_param_selects_tests_and_a_failing_test_is_named(workspace: Project) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("test-go", "--run", "TestLifeCycle", "--no-short")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((workspace.root / "cache" / "go-test.json").read_text())
    assert report["tests"] and all("LifeCycle" in t["test"] for t in report["tests"])

    workspace.write(
        "internal/jobs/broken_test.go",
        'package jobs\n\nimport "testing"\n\nfunc TestBroken(t *testing.T) { t.Fatal("boom") }\n',
    )
    r = workspace.doit("test-go")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL example.com/polyglot/internal/jobs" in r.stdout
    assert "boom" in r.stdout


def _logging_go(folder: Path, log: Path) -> str:
    """A ``go`` that logs its arguments and runs the real one; returns a PATH using it."""
    real = shutil.which("go")
    assert real
    script = folder / "go"
    script.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_go_list_runs_once_until_a_go_file_changes(workspace: Project, tmp_path: Path) -> None:
    workspace.dodo(DODO)
    log = tmp_path / "go-calls.txt"
    path = _logging_go(tmp_path, log)
    assert workspace.doit("list", PATH=path).returncode == 0
    assert log.read_text().split().count("list") == 1
    assert workspace.doit("list", PATH=path).returncode == 0
    assert log.read_text().split().count("list") == 1  # from cache/go-list/
    _append(workspace, "internal/jobs/job.go")
    assert workspace.doit("list", PATH=path).returncode == 0
    assert log.read_text().split().count("list") == 2


def test_missing_go_is_one_line_and_exit_2(workspace: Project, tmp_path: Path) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("list", PATH=str(tmp_path / "empty"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "go not found: install Go >= 1.22, or run this inside the dev container" in r.stderr
    assert "Traceback" not in r.stderr
