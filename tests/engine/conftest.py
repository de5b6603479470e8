"""Fixtures shared by the engine's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from doit.loader import dict_to_task

from conjure.cli.adapter import extract_extra_keys
from conjure.cli.session import Session, attach_tasks, open_session


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Session]]:
    """Opens a session in a temporary project over the given task dicts."""
    monkeypatch.chdir(tmp_path)
    opened: list[Session] = []

    def open_with(*dicts: dict[str, Any]) -> Session:
        tasks = []
        for task_dict in dicts:
            extract_extra_keys(task_dict)
            tasks.append(dict_to_task(task_dict))
        opened.append(open_session({}, {}))
        attach_tasks(opened[-1], tasks)
        return opened[-1]

    yield open_with
    for each in opened:
        each.close()
