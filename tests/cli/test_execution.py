"""Parallel execution, failures, timeouts, interrupts, pools, output and records."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import sqlite3
import time

import pytest

from tests.conftest import Project


def _record(project: Project) -> dict:  # type: ignore[type-arg]
    runs = sorted((project.root / "cache" / "runs").glob("*.json"))
    return json.loads(runs[-1].read_text())


def _state_rows(project: Project) -> list[tuple[object, ...]]:
    with sqlite3.connect(project.root / "cache" / "state.sqlite") as db:
        rows = db.execute("SELECT * FROM tasks ORDER BY name").fetchall()
        rows += db.execute("SELECT * FROM files ORDER BY path").fetchall()
    return rows


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_failure_stops_running_tasks_and_dependents(project: Project) -> None:
    project.dodo(
        """
        def task_slow():
            return {"actions": ["echo $$ > slow.pid; sleep 30"]}
        def task_bad():
            return {"actions": ["sleep 0.5; echo broken; exit 3"]}
        def task_after():
            return {"actions": ["echo after >> log.txt"], "task_dep": ["bad"]}
        """
    )
    started = time.monotonic()
    result = project.doit("-n", "2")
    assert result.returncode == 3  # the failing command's own exit code
    assert time.monotonic() - started < 20
    assert "bad failed: command failed (exit 3)" in result.stdout
    assert "broken" in result.stdout
    assert project.log_lines() == []
    statuses = {t["name"]: t["status"] for t in _record(project)["tasks"]}
    assert statuses == {"slow": "cancelled", "bad": "failed", "after": "skipped"}
    assert not _alive(int((project.root / "slow.pid").read_text()))


def test_continue_runs_everything_independent_of_the_failure(project: Project) -> None:
    project.dodo(
        """
        def task_bad():
            return {"actions": ["exit 1"]}
        def task_after():
            return {"actions": ["echo after >> log.txt"], "task_dep": ["bad"]}
        def task_other():
            return {"actions": ["sleep 0.3; echo other >> log.txt"]}
        """
    )
    result = project.doit("--continue", "-n", "2")
    assert result.returncode == 1
    assert project.log_lines() == ["other"]


def test_timeout_kills_the_process_group(project: Project) -> None:
    project.dodo(
        """
        def task_hang():
            return {"actions": ["(sleep 60 & echo $! > child.pid; wait)"], "timeout": 1}
        """
    )
    started = time.monotonic()
    result = project.doit()
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    assert "timed out after 1s" in result.stdout
    time.sleep(0.2)
    assert not _alive(int((project.root / "child.pid").read_text()))


def test_ctrl_c_stops_children_and_exits_130(project: Project) -> None:
    project.dodo('def task_hang():\n    return {"actions": ["echo $$ > hang.pid; sleep 60"]}\n')
    proc = project.start()
    pid_file = project.root / "hang.pid"
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted" in out
    assert not _alive(int(pid_file.read_text()))


def test_pool_limits_concurrency(project: Project) -> None:
    project.dodo(
        """
        def task_d():
            for i in range(3):
                yield {"name": str(i), "actions": ["sleep 0.3"], "pool": "docker"}
        """,
        config='pools={"docker": 1}',
    )
    assert project.doit("-n", "3").returncode == 0
    tasks = _record(project)["tasks"]
    spans = sorted((t["start"], t["end"]) for t in tasks if t["start"] and ":" in t["name"])
    assert len(spans) == 3
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.01


def test_output_blocks_never_interleave(project: Project) -> None:
    project.dodo(
        """
        def task_p():
            for name in "ab":
                yield {"name": name, "actions": [
                    f"for i in 1 2 3 4 5; do echo {name}$i; sleep 0.05; done"]}
        """
    )
    result = project.doit("-n", "2")
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if len(line) == 2 and line[1].isdigit()]
    assert lines in (
        ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4", "b5"],
        ["b1", "b2", "b3", "b4", "b5", "a1", "a2", "a3", "a4", "a5"],
    )
    assert "\x1b[" not in result.stdout


def test_python_actions_in_threads_capture_their_own_output(project: Project) -> None:
    project.dodo(
        """
        import time
        def talk(word):
            for i in range(5):
                print(word, i)
                time.sleep(0.02)
        def task_p():
            for word in ("alpha", "beta"):
                yield {"name": word, "actions": [(talk, [word])]}
        """
    )
    result = project.doit("-n", "2")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(("alpha ", "beta "))]
    words = [line.split()[0] for line in lines]
    assert words in (["alpha"] * 5 + ["beta"] * 5, ["beta"] * 5 + ["alpha"] * 5)


def test_critical_path_starts_first_once_durations_are_known(project: Project) -> None:
    project.dodo(
        """
        def task_short():
            for i in range(3):
                yield {"name": str(i), "actions": ["sleep 0.2"]}
        def task_chain1():
            return {"actions": ["sleep 0.4"]}
        def task_chain2():
            return {"actions": ["sleep 0.4"], "task_dep": ["chain1"]}
        """
    )
    assert project.doit("-n", "1").returncode == 0
    assert project.doit("-n", "1").returncode == 0
    order = [
        t["name"]
        for t in sorted(_record(project)["tasks"], key=lambda t: t["start"] or 0)
        if t["start"]
    ]
    assert order[0] == "chain1"


def test_run_record_and_trace(project: Project) -> None:
    project.dodo('def task_a():\n    return {"actions": ["true"]}\n')
    trace = project.root / "trace.json"
    assert project.doit("--trace", str(trace)).returncode == 0
    record = _record(project)
    (task,) = record["tasks"]
    assert task["name"] == "a" and task["status"] == "ran"
    assert task["why"][0]["kind"] == "never-ran"
    events = json.loads(trace.read_text())["traceEvents"]
    assert any(e.get("name") == "a" and e["ph"] == "X" for e in events)


def test_dry_run_and_explain_change_nothing(project: Project) -> None:
    project.dodo(
        """
        def task_gen():
            return {"actions": ["cat in.txt > out.txt"], "file_dep": ["in.txt"], "targets": ["out.txt"]}
        def task_use():
            return {"actions": ["echo use >> log.txt"], "file_dep": ["out.txt"]}
        """
    )
    source = project.write("in.txt", "a")
    assert project.doit().returncode == 0
    source.write_text("b")
    before = _state_rows(project)
    dry = project.doit("--dry-run")
    assert dry.returncode == 0
    assert "in.txt changed" in dry.stdout
    explained = project.doit("explain")
    assert "gen would re-run and creates out.txt" in explained.stdout
    assert "in.txt changed [" in explained.stdout
    assert _state_rows(project) == before
    assert project.log_lines() == ["use"]


def test_graph_formats(project: Project) -> None:
    project.dodo(
        'def task_a():\n    return {"actions": ["true"]}\n'
        'def task_b():\n    return {"actions": ["true"], "task_dep": ["a"]}\n'
    )
    dot = project.doit("graph")
    assert dot.returncode == 0 and '"a" -> "b";' in dot.stdout
    mermaid = project.doit("graph", "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart LR") and "n0 --> n1" in mermaid.stdout
    data = json.loads(project.doit("graph", "--format", "json").stdout)
    assert {(e["source"], e["target"]) for e in data["edges"]} == {("a", "b")}


def test_list_info_forget_clean(project: Project) -> None:
    project.dodo(
        """
        def task_gen():
            \"\"\"Generate out.txt.\"\"\"
            return {"actions": ["cp in.txt out.txt"], "file_dep": ["in.txt"], "targets": ["out.txt"],
                    "clean": True}
        """
    )
    project.write("in.txt", "a")
    listing = project.doit("list")
    assert listing.stdout.split() == ["gen", "Generate", "out.txt."]
    assert project.doit().returncode == 0
    assert project.doit("list", "--status").stdout.startswith("U gen")
    assert "status: up to date" in project.doit("info", "gen").stdout
    assert project.doit("forget", "gen").returncode == 0
    assert "no record of a successful run" in project.doit("info", "gen").stdout
    assert project.doit().returncode == 0
    assert project.doit("clean").returncode == 0
    assert not (project.root / "out.txt").exists()


def test_two_processes_on_one_cache_keep_both_records(project: Project) -> None:
    project.dodo(
        """
        def task_t():
            for i in range(20):
                yield {"name": str(i), "actions": ["sleep 0.05"], "file_dep": ["in.txt"]}
        """
    )
    project.write("in.txt", "a")
    left = project.start("t:1", "t:3", "t:5", "t:7", "t:9", "t:11", "t:13", "t:15", "t:17", "t:19")
    right = project.start("t:0", "t:2", "t:4", "t:6", "t:8", "t:10", "t:12", "t:14", "t:16", "t:18")
    for proc in (left, right):
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
    result = project.doit()
    assert "0 ran, 20 up to date" in result.stdout


def test_state_written_per_task_survives_sigkill(project: Project) -> None:
    project.dodo(
        """
        def task_a():
            return {"actions": ["echo a >> log.txt"], "file_dep": ["in.txt"]}
        def task_b():
            return {"actions": ["echo b >> log.txt; sleep 60"], "file_dep": ["in.txt"], "task_dep": ["a"]}
        """
    )
    project.write("in.txt", "x")
    proc = project.start("-n", "1")
    deadline = time.monotonic() + 20
    while "b" not in project.log_lines() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.communicate()
    explained = project.doit("explain")
    lines = explained.stdout.splitlines()
    assert lines[0] == "b"
    assert "no record of a successful run" in lines[1]
    assert lines[-1] == "1 would run, 1 up to date"


def test_lambdas_and_closures_run_on_threads(project: Project) -> None:
    project.dodo(
        """
        def make(n):
            return lambda: open("log.txt", "a").write(f"{n}\\n") and None
        def task_l():
            for n in range(4):
                yield {"name": str(n), "actions": [make(n)]}
        """
    )
    assert project.doit("-n", "2").returncode == 0
    assert sorted(project.log_lines()) == ["0", "1", "2", "3"]


def test_rich_output_shows_blocks_and_a_summary_table(project: Project) -> None:
    project.dodo('def task_a():\n    return {"actions": ["echo hello-from-a"]}\n')
    result = project.doit("--output", "rich")
    assert result.returncode == 0, result.stderr
    assert "hello-from-a" in result.stdout
    assert "conjure: 1 ran, 0 failed" in result.stdout
    assert "✓ ran" in result.stdout


def test_graph_renders_svg_where_graphviz_is_installed(project: Project) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    project.dodo('def task_a():\n    return {"actions": ["true"]}\n')
    assert project.doit("graph", "-o", "g.svg").returncode == 0
    assert "<svg" in (project.root / "g.svg").read_text()


def test_svg_without_graphviz_says_what_to_install(project: Project) -> None:
    project.dodo('def task_a():\n    return {"actions": ["true"]}\n')
    result = project.doit("graph", "-o", "g.svg", PATH=str(project.root / "no-tools-here"))
    assert result.returncode == 2
    assert "needs Graphviz's `dot`" in result.stderr


def test_help_on_a_task_with_conjure_keys(project: Project) -> None:
    project.dodo(
        """
        def task_t():
            \"\"\"Build things.\"\"\"
            return {"actions": ["true"], "env": ["GOOS"], "timeout": 5,
                    "params": [{"name": "race", "long": "race", "type": bool, "default": False,
                                "help": "enable the race detector"}]}
        """
    )
    result = project.doit("help", "t")
    assert result.returncode == 0, result.stderr
    assert "t  Build things." in result.stdout
    assert "enable the race detector" in result.stdout


def test_exit_code_is_the_failing_commands_own(project: Project) -> None:
    project.dodo(
        """
        def task_bad():
            return {"actions": ["exit 7"]}
        """
    )
    r = project.doit()
    assert r.returncode == 7, r.stdout + r.stderr


def test_shell_command_error_in_a_python_action_keeps_the_childs_code(project: Project) -> None:
    project.dodo(
        """
        from conjure import shell

        def deploy():
            shell.run("sh", "-c", "exit 5")

        def task_deploy():
            return {"actions": [deploy]}
        """
    )
    r = project.doit()
    assert r.returncode == 5, r.stdout + r.stderr


def test_list_shows_the_first_sentence_of_the_docstring(project: Project) -> None:
    project.dodo(
        '''
        def task_build():
            """Build the site. Then compress it for the CDN."""
            return {"actions": ["true"]}
        '''
    )
    r = project.doit("list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["build", "Build", "the", "site."]
