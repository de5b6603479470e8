"""The dev services over compose.dev.yml: up (and wait for health), down, logs, shell, tests.

Works with Compose v2 (``docker compose``) and v1 (``docker-compose`` 1.29): only commands
and flags both understand are used, and health is read from the engine, not from Compose.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conjure.docker._engine import Engine
from conjure.docker._image import ImageSpec, ensure_image
from conjure.docker._tools import find_compose

DEV_TARGET = "dev"
TEST_TARGET = "test-runner"


@dataclass(frozen=True)
class ComposeSpec:
    """The services of a compose file.

    Attributes:
        file: the compose file.
        project: the Compose project name ("" : the file's folder name, as Compose does).
        services: what ``dev-up`` starts and waits for.
        shell_service: where ``dev-shell`` runs.
        test_service: the service ``test-docker`` runs (in the profile of the same name).
        profiles: profiles every command activates, so ``down`` sees all containers.
        health_timeout: seconds ``dev-up`` waits for the services to be healthy.
        env: extra environment for Compose (image names, ...): a mapping, kept as sorted
            ``(name, value)`` pairs.
    """

    file: str = "compose.dev.yml"
    project: str = ""
    services: tuple[str, ...] = ("dev", "db")
    shell_service: str = "dev"
    test_service: str = "test-runner"
    profiles: tuple[str, ...] = ("test-runner",)
    health_timeout: float = 120.0
    env: Mapping[str, str] | tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        pairs = self.env.items() if isinstance(self.env, Mapping) else self.env
        object.__setattr__(self, "env", tuple(sorted((str(k), str(v)) for k, v in pairs)))
        object.__setattr__(self, "services", tuple(self.services))
        object.__setattr__(self, "profiles", tuple(self.profiles))

    def project_name(self) -> str:
        """The project name Compose uses (lower case, ``[a-z0-9_-]``)."""
        raw = self.project or Path(self.file).resolve().parent.name
        return re.sub(r"[^a-z0-9_-]", "", raw.lower())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComposeSpec:
        """The inverse of ``dataclasses.asdict``."""
        return cls(
            file=data["file"],
            project=data["project"],
            services=tuple(data["services"]),
            shell_service=data["shell_service"],
            test_service=data["test_service"],
            profiles=tuple(data["profiles"]),
            health_timeout=float(data["health_timeout"]),
            env=tuple((k, v) for k, v in data["env"]),
        )


def payload(image: ImageSpec, compose: ComposeSpec) -> str:
    """Both specs as one JSON argument for ``python -m conjure.docker``."""
    data = {"image": json.loads(image.to_json()), "compose": asdict(compose)}
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def parse_payload(text: str) -> tuple[ImageSpec, ComposeSpec]:
    """The inverse of ``payload``."""
    data = json.loads(text)
    return ImageSpec.from_json(json.dumps(data["image"])), ComposeSpec.from_dict(data["compose"])


class Services:
    """Compose commands for one project, with the image tags and user IDs in the environment."""

    def __init__(self, image: ImageSpec, compose: ComposeSpec) -> None:
        self.image = image
        self.spec = compose
        self.command = find_compose()
        self.project = compose.project_name()
        self.env = dict(os.environ)
        self.env.update(
            {
                "DEV_UID": str(os.getuid()) if hasattr(os, "getuid") else "1000",
                "DEV_GID": str(os.getgid()) if hasattr(os, "getgid") else "1000",
            }
        )
        self.env.update(dict(compose.env))

    def argv(self, *args: str) -> list[str]:
        """A Compose command line for this project."""
        profiles = [flag for p in self.spec.profiles for flag in ("--profile", p)]
        return [*self.command, "-f", self.spec.file, "-p", self.project, *profiles, *args]

    def run(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        """Runs Compose; its output streams to ours unless captured."""
        return subprocess.run(
            self.argv(*args),
            env=self.env,
            text=True,
            stdin=subprocess.DEVNULL,
            capture_output=capture,
            check=False,
        )

    def use_image(self, target: str, variable: str) -> None:
        """Builds the image if needed and exports its content tag to Compose."""
        self.env[variable] = ensure_image(self.image, target, quiet=True)

    def states(self, services: Sequence[str]) -> dict[str, str]:
        """Each service's state: ``healthy``, ``running`` (no health check), ``starting``,
        ``unhealthy``, ``exited (1)``, or ``missing``."""
        engine = Engine()
        found = {}
        for service in services:
            labels = [
                f"com.docker.compose.project={self.project}",
                f"com.docker.compose.service={service}",
            ]
            containers = [
                c
                for c in engine.containers(labels)
                if c.get("Labels", {}).get("com.docker.compose.oneoff", "False") == "False"
            ]
            if not containers:
                found[service] = "missing"
                continue
            details = engine.container(containers[0]["Id"]) or {}
            found[service] = _state(details.get("State", {}))
        return found

    def wait_healthy(self, services: Sequence[str], timeout: float) -> dict[str, str]:
        """Waits until every service is healthy (or running without a health check); returns
        the services that did not get there, with their state."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states(services)
            bad = {s: st for s, st in states.items() if st not in ("healthy", "running")}
            final = {s: st for s, st in bad.items() if st not in ("starting", "created")}
            if not bad or final or time.monotonic() > deadline:
                return bad
            time.sleep(0.5)


def _state(state: Mapping[str, Any]) -> str:
    status = str(state.get("Status", "missing"))
    if status in ("exited", "dead"):
        return f"{status} ({state.get('ExitCode')})"
    health = state.get("Health")
    if status == "running" and health:
        return str(health.get("Status", "starting"))
    return status


def up(image: ImageSpec, compose: ComposeSpec) -> int:
    """``dev-up``: starts the services, waits for their health checks, shows failures' logs."""
    services = Services(image, compose)
    services.use_image(DEV_TARGET, "DEV_IMAGE")
    print(f"starting {', '.join(compose.services)} ({' '.join(services.command)})", flush=True)
    started = services.run("up", "-d", *compose.services)
    bad = services.wait_healthy(compose.services, compose.health_timeout)
    if not bad and started.returncode == 0:
        states = services.states(compose.services)
        print("ready: " + ", ".join(f"{s} {st}" for s, st in states.items()), flush=True)
        return 0
    for service, state in bad.items():
        print(f"service {service} is {state}; its last log lines:", flush=True)
        services.run("logs", "--no-color", "--tail", "50", service)
    return 1


def down(image: ImageSpec, compose: ComposeSpec) -> int:
    """``dev-down``: removes containers, their anonymous volumes and the networks; the named
    cache volumes stay."""
    services = Services(image, compose)
    removed = services.run("rm", "-f", "-s", "-v")
    stopped = services.run("down", "--remove-orphans")
    return removed.returncode or stopped.returncode


def logs(image: ImageSpec, compose: ComposeSpec, service: str, tail: str) -> int:
    """``dev-logs``: recent logs of one service (all when ``service`` is "")."""
    services = Services(image, compose)
    return services.run(
        "logs", "--no-color", "--tail", tail, *([service] if service else [])
    ).returncode


def test(image: ImageSpec, compose: ComposeSpec, command: Sequence[str]) -> int:
    """``test-docker``: runs the test service (its image's command: ``doit test-all``) once."""
    services = Services(image, compose)
    services.use_image(DEV_TARGET, "DEV_IMAGE")
    services.use_image(TEST_TARGET, "TEST_IMAGE")
    print(f"running {compose.test_service} in {services.env['TEST_IMAGE']}", flush=True)
    return services.run("run", "--rm", "-T", compose.test_service, *command).returncode


def shell(image: ImageSpec, compose: ComposeSpec, command: str) -> int:
    """``dev-shell``: a command in the dev service, or an interactive shell on a terminal.

    An interactive shell replaces this process (``exec``): it needs the terminal.
    """
    services = Services(image, compose)
    services.use_image(DEV_TARGET, "DEV_IMAGE")
    if command:
        done = services.run(
            "exec", "-T", compose.shell_service, "bash", "-c", command, capture=True
        )
        print(done.stdout, end="", flush=True)
        print(done.stderr, end="", file=sys.stderr, flush=True)
        return done.returncode
    if not (
        sys.__stdin__ and sys.__stdin__.isatty() and sys.__stdout__ and sys.__stdout__.isatty()
    ):
        print(
            "dev-shell needs a terminal; pass --cmd 'COMMAND' to run one command", file=sys.stderr
        )
        return 2
    sys.__stdout__.write("\x1b[?25h")  # the live view may have hidden the cursor
    sys.__stdout__.flush()
    argv = services.argv("exec", compose.shell_service, "bash")
    os.execvpe(argv[0], argv, services.env)
