"""Docker dev image and services of this repository (Dockerfile.dev, compose.dev.yml).

``doit image`` | ``image --target test-runner`` | ``dev-up`` | ``dev-shell`` | ``dev-logs`` |
``test-docker`` | ``dev-down`` | ``doctor``. See docs/docker.md.

Base images and the Go proxy can be replaced from the environment (a mirror, or a machine
without a registry): ``GO_IMAGE``, ``PYTHON_IMAGE``, ``UV_IMAGE``, ``GOPROXY``, ``GONOSUMDB``...
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from conjure.docker import ComposeSpec, default_secrets, dev_tasks, image_spec

PASS_THROUGH = (
    "GO_IMAGE",
    "PYTHON_IMAGE",
    "UV_IMAGE",
    "GOPROXY",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GONOSUMCHECK",
    "GOFLAGS",
    "GOTOOLCHAIN",
)

IMAGE = image_spec(
    "conjure-dev",
    inputs=["pyproject.toml", "uv.lock", "examples/polyglot/go.mod", "examples/polyglot/go.sum"],
    build_args={name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)},
    secrets=default_secrets(),
    network=os.environ.get("DOCKER_BUILD_NETWORK", ""),
)
COMPOSE = ComposeSpec(file="compose.dev.yml", project="conjure-dev")


def task_docker() -> Iterator[dict[str, Any]]:
    """image, dev-up, dev-down, dev-shell, dev-logs, test-docker, doctor."""
    yield from dev_tasks(IMAGE, COMPOSE)
