"""One command's view of a conjure project: settings, state, file index, tasks and graph."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doit.task import Task

from conjure._config import CONJURE_KEY
from conjure.cli.adapter import DoitWork, Values
from conjure.engine.files import FileIndex
from conjure.engine.fingerprint import set_project_root
from conjure.engine.graph import Graph, NodeSpec, build_graph
from conjure.engine.hashing import Digester
from conjure.engine.layout import STATE_FILE
from conjure.engine.state import StateStore, TaskRecord
from conjure.engine.status import StatusChecker
from conjure.errors import GraphError, UnsupportedError
from conjure.settings import Settings, load_settings

if TYPE_CHECKING:
    from conjure.engine.cache.outputs import OutputCache


@dataclass
class Session:
    """Everything a command needs about the project, opened once.

    Attributes:
        root: the project root (the dodo.py folder, doit's cwd).
        settings: the resolved settings.
        state: the state database.
        digester: the content hash.
        files: file digests for this command.
        records: every task's last successful run.
        values: saved values of tasks.
        generation: the state's generation when the records were read.
    """

    root: Path
    settings: Settings
    state: StateStore
    digester: Digester
    files: FileIndex
    records: dict[str, TaskRecord]
    values: Values
    generation: int = 0
    works: dict[str, DoitWork] = field(default_factory=dict)
    graph: Graph | None = None

    @property
    def cache_dir(self) -> Path:
        """The cache folder (``cache/`` by default)."""
        return self.root / self.settings.cache_dir

    def checker(self) -> StatusChecker:
        """An up-to-date checker over this session's state."""
        assert self.graph is not None
        return StatusChecker(self.files, self.records, self.digester, self.graph.producers)

    def output_cache(self) -> OutputCache | None:
        """The output cache (local, plus the remote when configured), or None when off."""
        if not self.settings.cache:
            return None
        from conjure.engine.cache.key import ToolVersions
        from conjure.engine.cache.outputs import OutputCache
        from conjure.engine.cache.store import LocalCache

        remote = None
        if self.settings.remote:
            from conjure.engine.cache.remote import HMAC_ENV, RemoteCache

            secret = os.environ.get(HMAC_ENV)
            remote = RemoteCache(
                self.settings.remote,
                self.settings.remote_timeout,
                self.settings.remote_write,
                secret.encode() if secret else None,
            )
        local = LocalCache(self.cache_dir, self.root, self.digester)
        tools = ToolVersions(self.cache_dir / "tools.json")
        return OutputCache(local, tools, self.digester, remote)

    def close(self) -> None:
        """Closes the state database."""
        self.state.close()


def open_session(
    dodo_config: Mapping[str, Any],
    cli_values: Mapping[str, Any],
    settings: Settings | None = None,
) -> Session:
    """Opens the project in the current directory (where doit put us: the dodo's folder).

    ``settings``, when given, are the already resolved settings (``dodo_config`` and
    ``cli_values`` are then not read again).

    Raises:
        ConfigError: a setting is invalid.
        StateError: the state database cannot be opened.
    """
    root = Path(os.getcwd())
    set_project_root(str(root))
    if settings is None:
        settings = load_settings(root, dodo_config.get(CONJURE_KEY, {}), cli_values)
    digester = Digester(settings.hash)
    state = StateStore(root / settings.cache_dir / STATE_FILE, settings.hash)
    files = FileIndex(digester, state.load_files(), str(root))
    generation = state.generation()  # before the records: a later change is then noticed
    records = state.load_tasks()
    return Session(root, settings, state, digester, files, records, Values(records), generation)


def attach_tasks(session: Session, tasks: Sequence[Task]) -> None:
    """Wraps doit's tasks as engine work and validates their graph.

    Raises:
        GraphError: unknown task, duplicate target or cycle.
        UnsupportedError: a task uses a doit feature conjure does not support.
    """
    by_name = {task.name: task for task in tasks}
    _expand_wildcards(tasks, by_name)
    for task in tasks:
        if task.loader is not None:
            raise UnsupportedError(
                f"task {task.name!r} uses @create_after, which conjure does not support yet; "
                "create the task directly"
            )
    session.works = {
        task.name: DoitWork(
            task,
            session.files,
            session.digester,
            session.values,
            by_name,
            str(session.root),
            session.settings.kill_grace,
        )
        for task in tasks
    }
    specs: dict[str, NodeSpec] = {name: work.spec for name, work in session.works.items()}
    session.graph = build_graph(specs)


def _expand_wildcards(tasks: Sequence[Task], by_name: Mapping[str, Task]) -> None:
    for task in tasks:
        for pattern in task.wild_dep:
            matches = [name for name in by_name if fnmatch.fnmatch(name, pattern)]
            if not matches:
                raise GraphError(
                    f"task {task.name!r} depends on {pattern!r}, which matches no task"
                )
            task.task_dep.extend(m for m in matches if m not in task.task_dep)
        task.wild_dep = []


def check_missing_sources(session: Session, names: Sequence[str]) -> None:
    """Fails before anything runs when a file dependency exists nowhere.

    Raises:
        GraphError: names the task and the file.
    """
    assert session.graph is not None
    producers = session.graph.producers
    checker = session.checker()
    for name in names:
        for key in session.works[name].spec.file_deps:
            if key not in producers and session.files.digest(key) == "":
                raise GraphError(checker.missing_message(name, key))
