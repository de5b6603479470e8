"""What every task factory does last: merge the author's task keys into the dict it made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def finish(made: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """The factory's task with the author's keys (``name``, ``basename``, ``doc``...) on top.

    The factory's own ``doc`` is kept only for subtasks (a ``name`` given): a top-level
    task shows the docstring of the ``task_*`` function that returns it, as in plain doit.
    """
    task = {**made, **extra}
    if "name" not in extra and "doc" not in extra:
        task.pop("doc", None)
    return task
