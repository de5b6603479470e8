"""Task factories for dodo.py: ``image``, ``dev-up``, ``dev-down``, ``dev-shell``,
``dev-logs``, ``test-docker`` and ``doctor``.

Each task's action is a command (``python -m conjure.docker ...``), so it runs the engine's
way: its own process group, its output streamed into the task's block, stopped on timeout or
Ctrl-C. ``dev-shell`` is the exception: an interactive shell needs the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from doit.action import CmdAction
from doit.exceptions import TaskFailed

from conjure.docker._compose import ComposeSpec, payload, shell
from conjure.docker._engine import Engine
from conjure.docker._image import ImageSpec, current_tag
from conjure.docker._tools import find_builder, find_compose

_MODULE = [sys.executable, "-m", "conjure.docker"]


class ImageIsCurrent:
    """``uptodate`` item of ``image``: true when the image's content tag exists.

    Raises ``ConfigError`` (exit code 2, one line) when the engine does not answer, or when a
    build is needed and no BuildKit-capable client exists.
    """

    def __init__(self, image: ImageSpec) -> None:
        self.image = image

    def __call__(self, task: Any) -> bool:
        options = task.options if task.options is not None else {}
        if current_tag(self.image, options.get("target") or "dev") is not None:
            return True
        find_builder()
        return False

    def __repr__(self) -> str:
        return f"ImageIsCurrent({self.image.name})"


class EngineReady:
    """``uptodate`` item of the service tasks: always stale, but first checks that the engine
    answers and Compose exists, so a dead daemon is one clear line (exit code 2)."""

    def __call__(self) -> bool:
        Engine().version()
        find_compose()
        return False

    def __repr__(self) -> str:
        return "EngineReady()"


def _build_command(image: ImageSpec, target: str) -> list[str]:
    return [*_MODULE, "build", image.to_json(), target or "dev"]


def image_task(
    image: ImageSpec, *, basename: str = "image", timeout: float = 3600
) -> dict[str, Any]:
    """``doit image [--target STAGE]``: builds the image unless its content tag exists."""
    return {
        "basename": basename,
        "doc": f"Build the {image.name} image (--target STAGE, default dev) unless it exists",
        "actions": [CmdAction((_build_command, [image], {}))],
        "params": [
            {"name": "target", "long": "target", "default": "dev", "help": "Dockerfile stage"}
        ],
        "uptodate": [ImageIsCurrent(image)],
        "timeout": timeout,
        "verbosity": 2,
    }


def _service_task(basename: str, doc: str, argv: list[str], **extra: Any) -> dict[str, Any]:
    task = {
        "basename": basename,
        "doc": doc,
        "actions": [argv],
        "uptodate": [EngineReady()],
        "verbosity": 2,
    }
    task.update(extra)
    return task


def dev_up_task(
    image: ImageSpec, compose: ComposeSpec, *, basename: str = "dev-up", image_task: str = "image"
) -> dict[str, Any]:
    """``doit dev-up``: the dev services, waiting for their health checks."""
    return _service_task(
        basename,
        f"Start {', '.join(compose.services)} ({compose.file}) and wait until healthy",
        [*_MODULE, "up", payload(image, compose)],
        task_dep=[image_task],
        timeout=compose.health_timeout + 600,
    )


def dev_down_task(
    image: ImageSpec, compose: ComposeSpec, *, basename: str = "dev-down"
) -> dict[str, Any]:
    """``doit dev-down``: removes the containers, anonymous volumes and networks."""
    return _service_task(
        basename,
        f"Stop and remove the services of {compose.file} (named cache volumes stay)",
        [*_MODULE, "down", payload(image, compose)],
    )


def dev_logs_task(
    image: ImageSpec, compose: ComposeSpec, *, basename: str = "dev-logs"
) -> dict[str, Any]:
    """``doit dev-logs [--service S] [--tail N]``."""
    command = CmdAction(
        (
            lambda service, tail: [*_MODULE, "logs", payload(image, compose), service, str(tail)],
            [],
            {},
        )
    )
    return _service_task(
        basename,
        "Show the dev services' recent logs (--service S, --tail N)",
        [],
        actions=[command],
        params=[
            {"name": "service", "long": "service", "default": "", "help": "one service"},
            {"name": "tail", "long": "tail", "type": int, "default": 100, "help": "lines"},
        ],
    )


def _shell_action(image: ImageSpec, compose: ComposeSpec, cmd: str) -> TaskFailed | None:
    code = shell(image, compose, cmd)
    return TaskFailed(f"dev-shell: exit {code}") if code else None


def dev_shell_task(
    image: ImageSpec,
    compose: ComposeSpec,
    *,
    basename: str = "dev-shell",
    image_task: str = "image",
) -> dict[str, Any]:
    """``doit dev-shell``: a shell in the dev service; ``--cmd 'go test ./...'`` runs one
    command without a terminal."""
    return _service_task(
        basename,
        "A shell in the dev service (--cmd COMMAND: run one command)",
        [],
        actions=[(_shell_action, [image, compose])],
        params=[{"name": "cmd", "long": "cmd", "default": "", "help": "a command to run"}],
        task_dep=[image_task],
    )


def test_docker_task(
    image: ImageSpec, compose: ComposeSpec, *, basename: str = "test-docker", timeout: float = 3600
) -> dict[str, Any]:
    """``doit test-docker``: the test-runner image runs the suites on the bind-mounted source."""
    return _service_task(
        basename,
        f"Run the suites in the {compose.test_service} image (source bind-mounted)",
        [*_MODULE, "test", payload(image, compose)],
        timeout=timeout,
    )


def doctor_task(*, basename: str = "doctor") -> dict[str, Any]:
    """``doit doctor``: engine, BuildKit, Compose, GOPROXY, proxy, uv and CA bundle checks."""
    return {
        "basename": basename,
        "doc": "Check Docker, BuildKit, Compose, GOPROXY, uv and the CA bundle",
        "actions": [[*_MODULE, "doctor"]],
        "verbosity": 2,
    }


def dev_tasks(
    image: ImageSpec, compose: ComposeSpec | None = None, *, test_docker: str = "test-docker"
) -> Iterator[dict[str, Any]]:
    """Every task above, with their default names (a ``task_*`` function can yield them).

    Args:
        image: the image.
        compose: the services (``ComposeSpec()``: compose.dev.yml).
        test_docker: the name of the ``test-docker`` task, for a repository that already has
            a task of that name.
    """
    compose = compose or ComposeSpec()
    yield image_task(image)
    yield dev_up_task(image, compose)
    yield dev_down_task(image, compose)
    yield dev_shell_task(image, compose)
    yield dev_logs_task(image, compose)
    yield test_docker_task(image, compose, basename=test_docker)
    yield doctor_task()
