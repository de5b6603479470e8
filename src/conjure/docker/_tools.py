"""The command-line tools builds and services go through: a BuildKit-capable docker client
and Compose (v2 plugin or v1 ``docker-compose``), found on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from conjure.errors import ConfigError

NO_BUILDKIT = (
    "no BuildKit-capable docker client found: install the buildx plugin "
    "(docker-buildx-plugin from Docker's packages, or Debian's docker-buildx), "
    "or use a docker client older than 23.0 (BuildKit built in, e.g. Debian's docker.io 20.10)"
)
NO_COMPOSE = (
    "Docker Compose not found: install the Compose plugin (docker-compose-plugin, "
    "`docker compose`) or docker-compose"
)
_KNOWN_CLIENTS = ("/usr/bin/docker", "/usr/local/bin/docker")


@dataclass(frozen=True)
class Builder:
    """How to run a BuildKit build: the command prefix and the environment it needs.

    Attributes:
        argv: e.g. ``("docker", "buildx", "build", "--load")`` or ``("docker", "build")``.
        env: extra environment (``DOCKER_BUILDKIT=1`` for a client with BuildKit built in).
        client: the docker client used (also for ``pull``).
        description: for messages (``buildx 0.12.1``, ``built-in BuildKit (client 20.10.24)``).
    """

    argv: tuple[str, ...]
    client: str
    description: str
    env: dict[str, str] = field(default_factory=dict)


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def docker_clients() -> list[str]:
    """Every distinct docker client: those on PATH first, then well-known locations."""
    found: list[str] = []
    path = os.environ.get("PATH", "")
    for folder in path.split(os.pathsep):
        candidate = os.path.join(folder, "docker")
        if os.access(candidate, os.X_OK) and os.path.isfile(candidate):
            found.append(candidate)
    found += [c for c in _KNOWN_CLIENTS if os.access(c, os.X_OK)]
    unique: dict[str, str] = {}
    for client in found:
        unique.setdefault(os.path.realpath(client), client)
    return list(unique.values())


def client_version(client: str) -> str:
    """The client's own version (``20.10.24``), or "" when it cannot say."""
    done = _run([client, "version", "--format", "{{.Client.Version}}"])
    return done.stdout.strip() if done is not None else ""


def find_builder() -> Builder:
    """The first client with the buildx plugin, else one with BuildKit built in (< 23).

    Raises:
        ConfigError: none of the docker clients here can run a BuildKit build.
    """
    clients = docker_clients()
    for client in clients:
        done = _run([client, "buildx", "version"])
        if done is not None and done.returncode == 0:
            version = " ".join(done.stdout.split()[:2])
            return Builder((client, "buildx", "build", "--load"), client, version)
    for client in clients:
        version = client_version(client)
        major = version.split(".", 1)[0]
        if major.isdigit() and int(major) < 23:
            description = f"built-in BuildKit (client {version} at {client})"
            return Builder((client, "build"), client, description, {"DOCKER_BUILDKIT": "1"})
    raise ConfigError(NO_BUILDKIT)


def find_compose() -> tuple[str, ...]:
    """The Compose command: ``docker compose`` (v2) when present, else ``docker-compose``.

    Raises:
        ConfigError: neither exists.
    """
    for client in docker_clients():
        done = _run([client, "compose", "version"])
        if done is not None and done.returncode == 0:
            return (client, "compose")
    legacy = shutil.which("docker-compose")
    if legacy:
        return (legacy,)
    raise ConfigError(NO_COMPOSE)


def compose_version(command: tuple[str, ...]) -> str:
    """``docker compose version --short`` (or v1's first line)."""
    done = _run([*command, "version", "--short"])
    return done.stdout.strip() if done is not None and done.returncode == 0 else "?"
