"""compose.dev.yml through `doit dev-up`, `test-docker`, `dev-shell` and `dev-down`."""

from __future__ import annotations

import docker
import pytest

from tests.docker.conftest import Scenario

pytestmark = pytest.mark.slow


def test_dev_up_test_docker_and_dev_down_leave_nothing(scenario: Scenario) -> None:
    client = docker.from_env()
    project = scenario.env["SCENARIO_PROJECT"]
    label = f"com.docker.compose.project={project}"
    volumes_before = {v.name for v in client.volumes.list()}
    try:
        up = scenario.doit("dev-up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "ready: dev healthy, db healthy" in up.stdout
        shell = scenario.doit(
            "dev-shell", "--cmd", "go list -m example.test/greet && python -c 'import iniconfig'"
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert "example.test/greet v1." in shell.stdout
        tests = scenario.doit("test-docker")
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert "ok  \texample.test/app" in tests.stdout
        assert "2 passed" in tests.stdout
    finally:
        down = scenario.doit("dev-down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert client.containers.list(all=True, filters={"label": label}) == []
    assert client.networks.list(filters={"label": label}) == []
    new_volumes = {v.name for v in client.volumes.list()} - volumes_before
    # only the named cache volumes remain (kept on purpose), no anonymous volume
    assert new_volumes <= {f"{project}_go-mod", f"{project}_go-build", f"{project}_uv-cache"}
