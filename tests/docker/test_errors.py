"""Clear one-line errors: a dead engine, GOPROXY=off in `doit doctor`. No engine needed."""

from __future__ import annotations

from tests.conftest import Project

TASKS = """
from conjure.docker import ComposeSpec, dev_tasks, image_spec

def task_docker():
    yield from dev_tasks(image_spec("app-dev", inputs=["uv.lock"]), ComposeSpec(project="app"))
"""


def test_dead_engine_is_one_line_and_exit_2(project: Project) -> None:
    project.dodo(TASKS)
    project.write("Dockerfile.dev", "FROM scratch\n")
    for task in ("image", "dev-up"):
        done = project.doit(task, DOCKER_HOST="unix:///nonexistent/docker.sock")
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(
            "conjure: error: cannot reach the Docker engine at unix:///nonexistent/docker.sock"
        )
        assert "start it (`sudo systemctl start docker`" in lines[0]


def test_doctor_flags_goproxy_off_with_the_fix(project: Project) -> None:
    project.dodo(TASKS)
    done = project.doit("doctor", GOPROXY="off")
    assert done.returncode == 1, done.stdout
    line = next(x for x in done.stdout.splitlines() if "goproxy" in x)
    assert line.startswith(
        "FAIL  goproxy    GOPROXY=off: no module can be downloaded; fix: go env -w"
    )


def test_doctor_warns_about_goproxy_direct(project: Project) -> None:
    project.dodo(TASKS)
    done = project.doit("doctor", GOPROXY="direct")
    line = next(x for x in done.stdout.splitlines() if "goproxy" in x)
    assert line.startswith("WARN  goproxy    GOPROXY=direct: every module is cloned from its VCS")
