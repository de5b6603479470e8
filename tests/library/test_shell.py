"""conjure.shell: glob inputs, command tasks, and the Mage ``sh``-style helpers."""

from __future__ import annotations

import sys

import pytest

from conjure.shell import CommandError, exit_status, files, output, run
from tests.conftest import Project
from tests.library.conftest import last_run


def test_files_globs_recursively_and_keeps_literal_paths(project: Project) -> None:
    project.write("web/src/a.js", "a")
    project.write("web/src/lib/b.js", "b")
    project.write("web/src/.hidden.js", "h")
    assert files("web/src/**/*.js", "web/dist/app.js", root=str(project.root)) == [
        "web/dist/app.js",
        "web/src/a.js",
        "web/src/lib/b.js",
    ]


def test_command_task_reruns_on_input_change_only(project: Project) -> None:
    project.write("src/a.txt", "1")
    project.dodo(
        """
        from conjure import shell

        def task_bundle():
            return shell.command(
                "cat src/*.txt > out.txt; echo ran >> log.txt",
                inputs=["src/**/*.txt"], outputs=["out.txt"], env={"STAGE": "dev"},
            )
        """
    )
    assert project.doit("bundle").returncode == 0
    assert project.doit("bundle").returncode == 0
    assert project.log_lines() == ["ran"]
    project.write("src/a.txt", "2")
    r = project.doit("bundle")
    assert r.returncode == 0, r.stderr
    assert project.log_lines() == ["ran", "ran"]
    assert (project.root / "out.txt").read_text() == "2"
    ran, _ = last_run(project)
    assert "bundle" in ran


def test_run_and_output_with_extra_env(capsys: pytest.CaptureFixture[str]) -> None:
    code = "import os; print(os.environ['GREETING'])"
    assert output(sys.executable, "-c", code, env={"GREETING": "hi"}) == "hi"
    assert run(sys.executable, "-c", code, env={"GREETING": "hello"}) == 0
    assert capsys.readouterr().out == "hello\n"


def test_a_failing_command_carries_the_child_exit_code() -> None:
    with pytest.raises(CommandError) as caught:
        run(sys.executable, "-c", "raise SystemExit(7)")
    assert caught.value.exit_code == 7
    assert exit_status(caught.value) == 7
    assert exit_status(None) == 0
    assert run(sys.executable, "-c", "raise SystemExit(4)", check=False) == 4
    with pytest.raises(CommandError) as missing:
        output("/nonexistent/tool")
    assert missing.value.exit_code == 127


def test_importing_conjure_does_not_load_the_task_libraries() -> None:
    import subprocess

    code = "import sys, conjure; print(sorted(m for m in sys.modules if m.startswith('conjure.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout
    assert "conjure.go" not in loaded and "conjure.python" not in loaded
    assert "conjure.shell" not in loaded and "conjure.discovery" not in loaded
    assert "conjure._compose" not in loaded
    code = "import conjure; print(conjure.go.build.__name__, conjure.discover.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["build", "discover"]
    code = "import conjure; print(conjure.include.__name__, conjure.serial.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["include", "serial"]
