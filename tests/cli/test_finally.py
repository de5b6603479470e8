"""``"finally": True`` tasks through the real doit: failures, fail-fast, signals, dry runs."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import Project

FINALLY_DODO = """
import json
from pathlib import Path

def task_slow():
    return {"actions": ["echo $$ > slow.pid; sleep 30"]}

def task_bad():
    return {"actions": ["sleep 0.5; echo broken > bad.txt; exit 3"]}

def report(upstream):
    seen = {"upstream": upstream, "bad.txt": Path("bad.txt").read_text().strip()}
    Path("fin.json").write_text(json.dumps(seen))

def task_fin():
    return {"actions": [report], "task_dep": ["slow", "bad"], "finally": True}

def task_after():
    return {"actions": ["echo after >> log.txt"], "task_dep": ["fin"]}
"""


def _assert_gone(pid_file: Path) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def _statuses(project: Project) -> dict[str, str]:
    runs = sorted((project.root / "cache" / "runs").glob("*.json"))
    return {t["name"]: t["status"] for t in json.loads(runs[-1].read_text())["tasks"]}


def test_finally_task_runs_after_a_failure_under_fail_fast(project: Project) -> None:
    project.dodo(FINALLY_DODO)
    started = time.monotonic()
    r = project.doit("-n", "2")
    assert time.monotonic() - started < 20
    assert r.returncode == 3, r.stdout + r.stderr  # the failing command's own code
    seen = json.loads((project.root / "fin.json").read_text())
    assert seen == {"upstream": {"slow": "cancelled", "bad": "failed"}, "bad.txt": "broken"}
    assert _statuses(project) == {
        "slow": "cancelled",
        "bad": "failed",
        "fin": "ran",
        "after": "skipped",
    }
    _assert_gone(project.root / "slow.pid")


def test_a_failing_finally_task_fails_the_run(project: Project) -> None:
    project.dodo(
        """
        def task_ok():
            return {"actions": ["true"]}
        def task_fin():
            return {"actions": ["exit 4"], "task_dep": ["ok"], "finally": True}
        """
    )
    r = project.doit()
    assert r.returncode == 4, r.stdout
    assert "fin failed: command failed (exit 4)" in r.stdout


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_still_run_the_teardown_of_what_started(
    project: Project, sig: int, code: int
) -> None:
    project.dodo(
        """
        def task_hang():
            return {"actions": ["echo $$ > hang.pid; sleep 60"]}
        def task_fin():
            return {"actions": ["echo fin >> log.txt"], "task_dep": ["hang"], "finally": True}
        def task_later():
            return {"actions": ["echo later >> log.txt"], "task_dep": ["hang"]}
        def task_last():  # makes hang's path the longest, so it starts first with -n 1
            return {"actions": ["echo last >> log.txt"], "task_dep": ["later"]}
        def task_queued():
            return {"actions": ["echo queued >> log.txt"]}
        def task_fin2():
            return {"actions": ["echo fin2 >> log.txt"], "task_dep": ["queued"],
                    "finally": True}
        """
    )
    proc = project.start("-n", "1", "hang", "fin", "last", "fin2")
    pid_file = project.root / "hang.pid"
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, out + err
    assert project.log_lines() == ["fin"]  # fin2's dependency never started: nothing to undo
    _assert_gone(pid_file)
    assert _statuses(project) == {
        "hang": "cancelled",
        "fin": "ran",
        "later": "skipped",
        "last": "skipped",
        "queued": "skipped",
        "fin2": "skipped",
    }


def test_dry_run_and_explain_describe_a_finally_task(project: Project) -> None:
    project.dodo(
        """
        def task_build():
            return {"actions": ["echo build >> log.txt"]}
        def task_fin():
            return {"actions": ["echo fin >> log.txt"], "task_dep": ["build"], "finally": True}
        """
    )
    dry = project.doit("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would run fin" in " ".join(dry.stdout.split())
    explained = project.doit("explain", "fin")
    assert explained.returncode == 0, explained.stderr
    lines = explained.stdout.splitlines()
    assert "  - a finally task: runs after its dependencies finish, also when one fails" in lines
    assert project.log_lines() == []


def test_finally_must_be_true_or_false(project: Project) -> None:
    project.dodo('def task_fin():\n    return {"actions": ["true"], "finally": "yes"}\n')
    r = project.doit()
    assert r.returncode == 2
    assert (
        r.stderr.strip() == "conjure: error: task 'fin': finally must be True or False, got 'yes'"
    )
