"""Docker dev images and services for a dodo.py: task factories over Dockerfile.dev and
compose.dev.yml. See docs/docker.md.

    from conjure.docker import ComposeSpec, dev_tasks, image_spec

    IMAGE = image_spec("myrepo-dev", inputs=["go.mod", "go.sum", "pyproject.toml", "uv.lock"])

    def task_docker():
        yield from dev_tasks(IMAGE, ComposeSpec())

Importing this package is cheap: docker-py (the Docker SDK, ~0.4 s) is imported only by
``doit doctor`` and for engines reached over ssh or TLS; the up-to-date check of ``image``
talks to the engine's socket directly.
"""

from __future__ import annotations

from conjure.docker._compose import ComposeSpec
from conjure.docker._engine import Engine, EngineUnreachableError
from conjure.docker._image import (
    ImageSpec,
    content_key,
    current_tag,
    default_secrets,
    ensure_image,
    image_spec,
)
from conjure.docker._tasks import (
    dev_down_task,
    dev_logs_task,
    dev_shell_task,
    dev_tasks,
    dev_up_task,
    doctor_task,
    image_task,
    test_docker_task,
)
from conjure.docker._tools import find_builder, find_compose

__all__ = [
    "ComposeSpec",
    "Engine",
    "EngineUnreachableError",
    "ImageSpec",
    "content_key",
    "current_tag",
    "default_secrets",
    "dev_down_task",
    "dev_logs_task",
    "dev_shell_task",
    "dev_tasks",
    "dev_up_task",
    "doctor_task",
    "ensure_image",
    "find_builder",
    "find_compose",
    "image_spec",
    "image_task",
    "test_docker_task",
]
