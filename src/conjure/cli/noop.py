"""The no-op fast path: answer "nothing to do" without building the task graph.

Most runs change nothing. When a run finds every selected task up to date, it leaves a
snapshot next to the state database (``cache/noop.snapshot``): a digest of the whole loaded
graph (every task dict the dodo produced, with Python callables described as the engine
describes them, the command line, the settings, the declared environment) and the
(size, mtime_ns, inode) of every file dependency and target of the selected tasks, each one a
stat whose digest the run had just confirmed.

The next run still executes the dodo.py (its task creators may read anything), but doit's
loader hands conjure the raw task dicts instead of ``Task`` objects. If the digest and every
stat match, the run is over: the same summary line and run record as a no-op, without the
engine, the state database or doit ``Task`` objects. On any difference the dicts become
``Task`` objects and the run takes the normal path, which is the only one that writes a new
snapshot.

Why a matching snapshot is enough: a task is up to date when its definition, its file
dependencies' digests and its targets are as recorded; all three are covered. Tasks whose
staleness depends on something else (``uptodate`` checks, ``calc_dep``, values a repr cannot
show) are never in a snapshot. Any change to the task records (a task starting, finishing,
``doit forget``) deletes the snapshot in the same transaction (``StateStore._changed``).
"""

from __future__ import annotations

import hashlib
import inspect
import marshal
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from doit import loader as doit_loader
from doit.task import Task

from conjure._config import CONJURE_KEY
from conjure._version import __version__
from conjure.engine.fingerprint import describe_callable, describe_value, set_project_root
from conjure.engine.layout import RUNS_DIR, SNAPSHOT_FILE, STATE_FILE
from conjure.settings import Settings, cli_settings, load_settings

if TYPE_CHECKING:
    from conjure.cli.session import Session
    from conjure.engine.events import TaskResult

FORMAT = 3
"""Snapshot layout version; a snapshot of another version is ignored."""

_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


class _OpaqueError(Exception):
    """A value the snapshot cannot describe faithfully (its task is never snapshotted)."""


@dataclass(slots=True)
class _Pending:
    """What doit's loader gets instead of a ``Task``: the dict, made a ``Task`` on demand.

    The attributes are the ones doit's loader reads or sets on the tasks it creates.
    """

    task_dict: dict[str, Any]
    canon: bytes
    name: str
    task_dep: list[str]
    params: Any
    declared: int
    subtask_of: str | None = None
    has_subtask: bool = False
    creator_params: Any = None


@dataclass
class LoadedTasks:
    """The dodo's tasks as loaded for ``doit run``, with the digest of the whole graph.

    Attributes:
        items: doit's task list, with ``_Pending`` in place of tasks made from dicts.
        header: digest of what besides the task dicts decides the run.
        unsafe: tasks whose up-to-date status a snapshot cannot vouch for.
        hashed: files the no-op path hashed (stat, digest), for the normal path to reuse.
    """

    items: list[Any]
    header: bytes
    unsafe: set[str] = field(default_factory=set)
    hashed: dict[str, tuple[tuple[int, int, int], str]] = field(default_factory=dict)
    _digest: str | None = None
    _tasks: list[Task] | None = None

    @property
    def digest(self) -> str:
        """Digest over the header, every task dict as created, then doit's task list.

        Each part is a complete marshal record, so their concatenation is unambiguous.
        """
        if self._digest is None:
            structure = marshal.dumps([_item_canon(item, self.unsafe) for item in self.items], 2)
            hasher = hashlib.blake2b(self.header, digest_size=32)
            hasher.update(b"".join(item.canon for item in self.items if type(item) is _Pending))
            hasher.update(structure)
            self._digest = hasher.hexdigest()
        return self._digest

    def tasks(self) -> list[Task]:
        """doit ``Task`` objects, made once (conjure's extra keys moved to ``meta``)."""
        if self._tasks is None:
            from conjure.cli.adapter import task_from_dict

            made = []
            for item in self.items:
                if isinstance(item, _Pending):
                    task = task_from_dict(item.task_dict)
                    task.subtask_of = item.subtask_of
                    task.has_subtask = item.has_subtask or task.has_subtask
                    if item.creator_params is not None:
                        task.creator_params = item.creator_params
                    task.task_dep.extend(item.task_dep[item.declared :])
                    item = task
                made.append(item)
            self._tasks = made
        return self._tasks


def run_settings(params: Any, config: dict[str, Any]) -> Settings:
    """The settings of a ``doit run``: defaults, pyproject, dodo, environment, flags."""
    flags = cli_settings(
        jobs=params.get("num_process") or None,
        keep_going=True if params.get("continue") else None,
        output=params.get("output") or None,
    )
    return load_settings(Path(os.getcwd()), config.get(CONJURE_KEY, {}), flags)


class _LineNumbers:
    """``inspect`` for doit's loader, which reads each creator's line number (to order
    creators) with ``inspect.getsourcelines``: that tokenizes the dodo.py, ~10 ms on a no-op.
    A function's code object has the same number (``getsourcelines`` unwraps decorators too)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)

    @staticmethod
    def getsourcelines(obj: Any) -> tuple[list[str], int]:
        """``([], first line)``; anything without a code object goes to ``inspect``."""
        code = getattr(inspect.unwrap(obj), "__code__", None)
        if code is None:
            return inspect.getsourcelines(obj)
        return [], code.co_firstlineno


_LINE_NUMBERS = _LineNumbers()


def load_recorded(
    load: Callable[..., list[Any]],
    command: Any,
    args: Sequence[str],
    config: dict[str, Any],
    settings: Settings,
) -> LoadedTasks:
    """Runs doit's loader with dicts kept as ``_Pending``; digests them on the way."""
    root = os.getcwd()
    set_project_root(root)
    unsafe: set[str] = set()
    memo: dict[int, Any] = {}

    def pending(task_dict: dict[str, Any]) -> _Pending:
        name = task_dict["name"]
        try:
            canon = _canon_task(task_dict, memo)
        except _OpaqueError:
            unsafe.add(name)
            canon = marshal.dumps(describe_value(task_dict), 2)
        deps = list(task_dict.get("task_dep") or ())
        return _Pending(task_dict, canon, name, deps, task_dict.get("params"), len(deps))

    original = doit_loader.dict_to_task
    doit_loader.dict_to_task = pending
    doit_loader.inspect = _LINE_NUMBERS
    try:
        items = load(cmd=command, pos_args=list(args))
    finally:
        doit_loader.dict_to_task = original
        doit_loader.inspect = inspect
    header = marshal.dumps(
        (
            FORMAT,
            __version__,
            sys.version,
            sys.argv[1:],
            repr(settings),
            _canon_lenient(config),
            _canon_lenient(getattr(command.loader, "config", None)),
        ),
        2,
    )
    return LoadedTasks(items, header, unsafe)


def _canon_task(task_dict: dict[str, Any], memo: dict[int, Any]) -> bytes:
    """The task dict as bytes: marshal (version 2: no back-references, so equal dicts give
    equal bytes) after callables in actions are replaced by their descriptions."""
    if task_dict.get("uptodate") or task_dict.get("calc_dep"):  # staleness beyond files
        raise _OpaqueError
    flat = dict(task_dict)
    actions = flat.get("actions")
    if actions:
        flat["actions"] = [_canon_action(action, memo) for action in actions]
    env = flat.get("env")
    if isinstance(env, (list, tuple)):  # names read from the environment at run time
        flat["\0environ"] = [os.environ.get(str(name)) for name in env]
    for key in ("file_dep", "targets"):
        if isinstance(flat.get(key), (set, frozenset)):
            flat[key] = sorted(map(str, flat[key]))
    try:
        return marshal.dumps(flat, 2)
    except ValueError:  # something marshal does not know: take the long way
        return marshal.dumps(_canon(flat, memo), 2)


def _canon_action(action: Any, memo: dict[int, Any]) -> Any:
    kind = type(action)
    if kind is str:
        return action
    if kind is tuple and action and callable(action[0]):
        return (_canon(action[0], memo), *action[1:])
    return _canon(action, memo) if callable(action) else action


def _canon(value: Any, memo: dict[int, Any]) -> Any:
    """A marshal-able form of plain data; callables as the engine describes them."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [_canon(v, memo) for v in value]
    if kind is tuple:
        return tuple(_canon(v, memo) for v in value)
    if kind is dict:
        return {_canon(k, memo): _canon(v, memo) for k, v in value.items()}
    if kind is set or kind is frozenset:
        return ("\0set", sorted(repr(_canon(v, memo)) for v in value))
    if isinstance(value, PurePath):
        return ("\0path", str(value))
    if callable(value) and not isinstance(value, type):
        found = memo.get(id(value))
        if found is None or found[0] is not value:
            found = memo[id(value)] = (value, ("\0fn", describe_callable(value)))
        return found[1]
    raise _OpaqueError


def _canon_lenient(value: Any) -> Any:
    try:
        return _canon(value, {})
    except _OpaqueError:
        return describe_value(value)


def _item_canon(item: Any, unsafe: set[str]) -> Any:
    if type(item) is _Pending:
        params = item.creator_params
        return (
            item.name,
            item.subtask_of,
            item.has_subtask,
            item.task_dep[item.declared :] if len(item.task_dep) > item.declared else None,
            None if params is None else _canon_lenient(params),
        )
    # a Task the loader made itself (a group of subtasks) or one a creator yielded
    if item._actions or item.file_dep or item.targets or item.uptodate or item.loader:
        unsafe.add(item.name)
    return ("\0task", item.name, item.doc, item.has_subtask, list(item.task_dep))


def serve(loaded: LoadedTasks, params: Any, settings: Settings) -> int | None:
    """Finishes a no-op run from the snapshot; None when the normal path must run.

    Files whose stat moved (a fresh clone with a restored ``cache/``, a ``touch``) are
    hashed and compared with the snapshot's digests; when they all match, the new stats are
    stored and the run is still a no-op. Digests computed before a mismatch is found are
    handed to the normal path (``loaded.hashed``), which then does not hash them again.
    """
    if params.get("trace") or params.get("dry_run") or params.get("always"):
        return None
    cache_dir = Path(settings.cache_dir)
    try:
        data = (cache_dir / SNAPSHOT_FILE).read_bytes()
        snapshot = marshal.loads(data)
        fmt, digest, identity, keys, stats, digests, names, hidden = snapshot
        inode, instance, generation = identity
    except (OSError, ValueError, EOFError, TypeError):
        return None
    started = time.time()
    if fmt != FORMAT or digest != loaded.digest:
        return None
    current = _current_stats(keys)
    if current is None:
        return None
    try:
        same_database = os.stat(cache_dir / STATE_FILE).st_ino == inode
    except OSError:
        return None
    if not same_database:  # a copy (CI cache restore) is fine; another database is not
        from conjure.engine.state import read_identity

        if read_identity(cache_dir / STATE_FILE) != (instance, generation):
            return None
    moved = [i for i in range(len(keys)) if current[i] != stats[i]] if current != stats else []
    if moved and not _same_content(loaded, keys, moved, current, digests, settings.hash):
        return None
    if moved or not same_database:
        refreshed = list(stats)
        for i in moved:
            refreshed[i] = current[i]
        _refresh(cache_dir, settings.hash, loaded.hashed, snapshot, refreshed, generation)
    _report(names, frozenset(hidden), params, settings, started)
    return 0


def _same_content(
    loaded: LoadedTasks,
    keys: list[str],
    moved: list[int],
    current: list[tuple[int, int, int]],
    digests: bytes,
    algorithm: str,
) -> bool:
    """Hashes the files whose stat moved; whether each still has the snapshot's digest.

    ``digests`` is every file's hex digest, concatenated (all have the same length): one
    bytes object loads in no time, 50,000 strings do not, and most runs never read it.
    """
    from conjure.engine.hashing import Digester

    digester = Digester(algorithm)
    width = len(digests) // len(keys)
    for i in moved:
        try:
            found = digester.of_file(keys[i], current[i][0])
        except OSError:
            return False
        loaded.hashed[keys[i]] = (current[i], found)
        if found.encode() != digests[i * width : (i + 1) * width]:
            return False
    return True


def _refresh(
    cache_dir: Path,
    algorithm: str,
    hashed: dict[str, tuple[tuple[int, int, int], str]],
    snapshot: tuple[Any, ...],
    stats: list[tuple[int, int, int]],
    generation: int,
) -> None:
    """Stores the stats of re-hashed files and a snapshot with them (racy ones unsettled)."""
    from conjure.engine.files import UNSETTLED, is_racy, stored_row
    from conjure.engine.state import StateStore

    state = StateStore(cache_dir / STATE_FILE, algorithm)
    try:
        state.record_files({key: stored_row(stat, found) for key, (stat, found) in hashed.items()})
        now = time.time()
        settled = [UNSETTLED if is_racy(s[1], now) else s for s in stats]  # UNSETTLED stays
        fmt, digest, identity, keys, _, digests, names, hidden = snapshot
        identity = (os.stat(state.path).st_ino, identity[1], identity[2])
        data = (fmt, digest, identity, keys, settled, digests, names, hidden)
        state.write_snapshot(marshal.dumps(data, 2), generation)
    finally:
        state.close()


def _current_stats(keys: list[str]) -> list[tuple[int, int, int]] | None:
    try:
        return [(st.st_size, st.st_mtime_ns, st.st_ino) for st in map(os.stat, keys)]
    except OSError:
        return None


def _report(
    names: list[str], hidden: frozenset[str], params: Any, settings: Settings, started: float
) -> None:
    """The events and run record of a no-op run, as the engine would produce them."""
    from conjure.engine.events import UP_TO_DATE, RunFinished, RunStarted, TaskResult
    from conjure.engine.records import new_run_id, record_run
    from conjure.report import make_reporter

    verbosity = params.get("verbosity")
    reporter = make_reporter(settings.output, 1 if verbosity is None else verbosity, hidden)
    jobs = settings.jobs or os.cpu_count() or 1
    run_id = new_run_id()
    reporter.handle(RunStarted(run_id, list(names), jobs))
    results = [TaskResult(name, UP_TO_DATE) for name in names]
    for result in results:
        reporter.handle(result)
    finished = time.time()
    path = record_run(
        Path(settings.cache_dir) / RUNS_DIR,
        run_id,
        results,
        started=started,
        finished=finished,
        jobs=jobs,
        exit_code=0,
        keep=settings.keep_runs,
        from_snapshot=True,
    )
    reporter.handle(RunFinished(results, finished - started, False, str(path)))
    reporter.close()


def save(
    session: Session,
    loaded: LoadedTasks,
    names: Sequence[str],
    results: Sequence[TaskResult],
    hidden: frozenset[str],
) -> bool:
    """After a run: leaves a snapshot when every selected task was up to date.

    Returns:
        Whether a snapshot was written.
    """
    from conjure.engine.events import UP_TO_DATE

    if any(r.status != UP_TO_DATE for r in results) or len(results) != len(names):
        return False
    digest = loaded.digest  # describing the loader's own tasks may mark some unsafe
    if loaded.unsafe.intersection(names):
        return False
    entries: dict[str, tuple[tuple[int, int, int], str]] = {}
    for name in names:
        spec = session.works[name].spec
        for key in (*spec.file_deps, *spec.targets):
            if key not in entries:
                entry = session.files.snapshot_entry(key)
                if entry is None:
                    return False
                entries[key] = entry
    state = session.state
    identity = (os.stat(state.path).st_ino, state.instance(), session.generation)
    data = (
        FORMAT,
        digest,
        identity,
        list(entries),
        [stat for stat, _ in entries.values()],
        "".join(found for _, found in entries.values()).encode(),
        [r.name for r in results],
        sorted(hidden.intersection(names)),
    )
    return state.write_snapshot(marshal.dumps(data, 2), session.generation)
