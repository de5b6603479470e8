"""The docker suite's fixtures: the CI environment of .ci/docker-setup.sh and one scenario
project shared by the whole session (images are built once and reused).

Tests that use ``ci`` need a Docker engine and the local base images; without them they are
skipped with one line, unless the setup ran (its env file exists) or DOCKER_TESTS=required,
in which case they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DOIT, Project
from tests.docker import goproxy

collect_ignore = ["scenario"]

HERE = Path(__file__).parent
REPO = HERE.parent.parent
ENV_FILE = Path(os.environ.get("DOCKER_CI_DIR", "/tmp/conjure-docker")) / "env"
MODULE = "example.test/greet"

TASKS = """
import json
import os

import conjure
from conjure.docker import ComposeSpec, dev_tasks, image_spec

DOIT_CONFIG = conjure.config()
IMAGE = image_spec(
    "conjure-test-app",
    inputs=["go.mod", "go.sum", "pyproject.toml", "uv.lock", "app/__init__.py"],
    build_args={
        "GO_IMAGE": os.environ["DOCKER_CI_GO_IMAGE"],
        "PYTHON_IMAGE": os.environ["DOCKER_CI_PYTHON_IMAGE"],
        "UV_IMAGE": os.environ["DOCKER_CI_UV_IMAGE"],
        "GO_DIR": ".",
        "GOPROXY": os.environ.get("SCENARIO_GOPROXY") or os.environ["DOCKER_CI_GOPROXY"],
        "GONOSUMDB": "example.test",
    },
    secrets=json.loads(os.environ.get("SCENARIO_SECRETS", "{}")),
    network="host",
)
COMPOSE = ComposeSpec(
    project=os.environ["SCENARIO_PROJECT"],
    env={"POSTGRES_IMAGE": os.environ["DOCKER_CI_POSTGRES_IMAGE"]},
    health_timeout=90,
)


def task_docker():
    yield from dev_tasks(IMAGE, COMPOSE)
"""


def read_env_file() -> dict[str, str]:
    if not ENV_FILE.is_file():
        return {}
    pairs = (line.partition("=") for line in ENV_FILE.read_text().splitlines() if "=" in line)
    return {key: value for key, _, value in pairs}


def engine_problem() -> str | None:
    """Why the docker tests cannot run here, or None."""
    from conjure.docker import Engine
    from conjure.errors import ConfigError

    try:
        Engine(timeout=3).version()
    except ConfigError as err:
        return str(err)
    if not read_env_file():
        return f"no local base images ({ENV_FILE} missing): run .ci/docker-setup.sh"
    return None


@pytest.fixture(scope="session")
def ci() -> dict[str, str]:
    """The settings .ci/docker-setup.sh wrote; skips (or fails in CI) without an engine."""
    problem = engine_problem()
    if problem is not None:
        message = f"docker suite skipped: {problem}"
        if ENV_FILE.is_file() or os.environ.get("DOCKER_TESTS") == "required":
            pytest.fail(message.replace("skipped", "cannot run"))
        pytest.skip(message)
    return read_env_file()


def publish(ci: dict[str, str], version: str) -> None:
    goproxy.publish(
        Path(ci["DOCKER_CI_GOPROXY_DIR"]),
        MODULE,
        version,
        {"greet.go": goproxy.greet_source(MODULE, version)},
    )


def proxy_log(ci: dict[str, str]) -> Path:
    return Path(ci["DOCKER_CI_GOPROXY_LOG"])


@dataclass
class Scenario:
    """The scenario project (tests/docker/scenario + the repo's Dockerfile.dev and compose
    file), with helpers to run ``doit -f docker_tasks.py`` in it."""

    project: Project
    ci: dict[str, str]
    env: dict[str, str]
    stamp: int

    @property
    def root(self) -> Path:
        return self.project.root

    def doit(
        self, *args: str, timeout: float = 600, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.project.doit(
            "-f", "docker_tasks.py", *args, timeout=timeout, **{**self.env, **env}
        )

    def doit_timed(self, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.perf_counter()
        done = self.doit(*args, **env)
        return done, time.perf_counter() - started

    def require(self, version: str) -> None:
        """Points go.mod at a version of the module and writes its go.sum (host Go)."""
        publish(self.ci, version)
        (self.root / "go.mod").write_text(
            f"module example.test/app\n\ngo 1.22\n\nrequire {MODULE} {version}\n"
        )
        (self.root / "go.sum").unlink(missing_ok=True)
        env = {
            **os.environ,
            "GOPROXY": self.ci["DOCKER_CI_GOPROXY"],
            "GONOSUMDB": "example.test",
            "GOFLAGS": "-mod=mod",
            "GOMODCACHE": str(self.root.parent / "host-gomod"),
        }
        subprocess.run(
            ["go", "mod", "tidy"], cwd=self.root, env=env, check=True, capture_output=True
        )

    def proxy_requests(self, since: int) -> list[str]:
        return proxy_log(self.ci).read_text()[since:].splitlines()

    def proxy_mark(self) -> int:
        log = proxy_log(self.ci)
        return len(log.read_text()) if log.exists() else 0


def make_scenario(root: Path, ci: dict[str, str], stamp: int, secrets: dict[str, str]) -> Scenario:
    shutil.copytree(HERE / "scenario", root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "go.mod.in").unlink()
    for name in ("Dockerfile.dev", "Dockerfile.dev.dockerignore", "compose.dev.yml"):
        shutil.copy(REPO / name, root / name)
    (root / "docker_tasks.py").write_text(TASKS)
    import json

    env = {
        **ci,
        "SCENARIO_PROJECT": f"conjure-test-{stamp}",
        "SCENARIO_SECRETS": json.dumps(secrets),
    }
    return Scenario(Project(root), ci, env, stamp)


@pytest.fixture(scope="session")
def secrets(ci: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA bundle (the host's, plus a unique marker line) and a netrc with a unique token."""
    folder = tmp_path_factory.mktemp("secrets")
    marker = f"conjure-ca-marker-{uuid.uuid4().hex}"
    token = f"tok-{uuid.uuid4().hex}"
    bundle = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    (folder / "ca.pem").write_text(f"# {marker}\n" + bundle.read_text())
    (folder / "netrc").write_text(f"machine 127.0.0.1 login ci password {token}\n")
    return {
        "cacert": str(folder / "ca.pem"),
        "netrc": str(folder / "netrc"),
        "marker": marker,
        "token": token,
    }


@pytest.fixture(scope="session")
def scenario(
    ci: dict[str, str], secrets: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    """One project for the session: go.mod requires a fresh module version (v1.0.<stamp>), so
    the first build really downloads it through the proxy."""
    import docker

    stamp = int(time.time())
    root = tmp_path_factory.mktemp("scenario") / "app"
    used = {"cacert": secrets["cacert"], "netrc": secrets["netrc"]}
    scene = make_scenario(root, ci, stamp, used)
    scene.require(f"v1.0.{stamp}")
    yield scene
    client = docker.from_env()
    for image in client.images.list(name="conjure-test-app"):
        for tag in image.tags:
            client.images.remove(tag, noprune=False)
    project = scene.env["SCENARIO_PROJECT"]
    for volume in client.volumes.list(filters={"label": f"com.docker.compose.project={project}"}):
        volume.remove(force=True)


def built_steps(output: str) -> dict[str, str]:
    """BuildKit plain progress: each step's title -> ``CACHED``, ``DONE`` or ``ERROR``."""
    titles: dict[str, str] = {}
    results: dict[str, str] = {}
    for line in output.splitlines():
        number, _, rest = line.partition(" ")
        if not number.startswith("#"):
            continue
        if rest.startswith("[") and number not in titles:
            titles[number] = rest
        elif rest.startswith(("CACHED", "DONE", "ERROR")):
            results[number] = rest.split()[0]
    return {title: results.get(number, "?") for number, title in titles.items()}


def step(steps: dict[str, str], *words: str) -> str:
    """The result of the one step whose title holds every word."""
    found = [result for title, result in steps.items() if all(w in title for w in words)]
    assert len(found) == 1, (words, steps)
    return found[0]


PYTHON = sys.executable
__all__ = ["DOIT", "PYTHON", "Scenario", "built_steps", "make_scenario", "publish", "step"]
