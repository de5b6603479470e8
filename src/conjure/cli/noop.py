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
import json
import marshal
import os
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, NamedTuple

from doit import loader as doit_loader
from doit.task import Task

from conjure._config import CONJURE_KEY
from conjure._version import __version__
from conjure.engine import filestats
from conjure.engine.fingerprint import describe_callable, describe_value, set_project_root
from conjure.engine.layout import RUNS_DIR, SNAPSHOT_FILE, STATE_FILE
from conjure.engine.statuses import UP_TO_DATE
from conjure.settings import Settings, cli_settings, load_settings

if TYPE_CHECKING:
    from conjure.cli.session import Session
    from conjure.engine.events import TaskResult

FORMAT = 7
"""Snapshot layout version; a snapshot of another version is ignored."""

_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


class _OpaqueError(Exception):
    """A value the snapshot cannot describe faithfully (its task is never snapshotted)."""


class _Pending:
    """What doit's loader gets instead of a ``Task``: the dict, made a ``Task`` on demand.

    The attributes are the ones doit's loader reads or sets on the tasks it creates. A plain
    class with slots: one is made per task on every run, a dataclass costs more to import.
    """

    __slots__ = (
        "creator_params",
        "declared",
        "has_subtask",
        "name",
        "params",
        "subtask_of",
        "task_dep",
        "task_dict",
    )

    def __init__(self, task_dict: dict[str, Any]) -> None:
        self.task_dict = task_dict
        self.name: str = task_dict["name"]
        deps = task_dict.get("task_dep")
        self.task_dep: list[str] = list(deps) if deps else []
        self.declared = len(self.task_dep)
        self.params: Any = task_dict.get("params")
        self.subtask_of: str | None = None
        self.has_subtask = False
        self.creator_params: Any = None


class LoadedTasks:
    """The dodo's tasks as loaded for ``doit run``, with the digest of the whole graph.

    Attributes:
        items: doit's task list, with ``_Pending`` in place of tasks made from dicts.
        header: digest of what besides the task dicts decides the run.
        unsafe: tasks whose up-to-date status a snapshot cannot vouch for (filled when the
            digest is computed).
        hashed: files the no-op path hashed (stat, digest), for the normal path to reuse.
        snapshot: the snapshot read for ``serve`` (None when there was none to read), whose
            pending rows the normal path takes.
        stats: the stats of the snapshot's files, being taken.
    """

    def __init__(self, items: list[Any], header: bytes) -> None:
        self.items = items
        self.header = header
        self.unsafe: set[str] = set()
        self.hashed: dict[str, tuple[tuple[int, int, int], str]] = {}
        self.snapshot: Snapshot | None = None
        self.stats: filestats.StatJob | None = None
        self._digest: str | None = None
        self._tasks: list[Task] | None = None

    @property
    def digest(self) -> str:
        """Digest over the header, every task dict as created, then doit's task list.

        Each part is a complete record (pickle, marshal), so their concatenation is
        unambiguous.
        """
        if self._digest is None:
            dicts = [item.task_dict for item in self.items if type(item) is _Pending]
            hasher = _hash_dicts(self.header, dicts, self.unsafe)
            hasher.update(marshal.dumps(_structure(self.items, self.unsafe), 2))
            self._digest = hasher.hexdigest()
        return self._digest

    def tasks(self) -> list[Task]:
        """doit ``Task`` objects, made once (conjure's extra keys moved to ``meta``)."""
        if self._tasks is None:
            from conjure.cli.adapter import task_from_dict

            made = []
            for item in self.items:
                if type(item) is _Pending:
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
    params: Any,
) -> LoadedTasks:
    """Runs doit's loader with dicts kept as ``_Pending``; digests them on the way.

    When the run could be served from a snapshot, the stats of the snapshot's files are
    taken on other threads from the moment the dodo's creators are done (not before: a
    creator may write a file) while this thread digests the graph.
    """
    set_project_root(os.getcwd())
    snapshot = None if _never_served(params) else read_snapshot(Path(settings.cache_dir))
    original = doit_loader.dict_to_task
    doit_loader.dict_to_task = _Pending
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
    loaded = LoadedTasks(items, header)
    if snapshot is not None:
        loaded.snapshot = snapshot
        loaded.stats = filestats.StatJob(snapshot.keys, filestats.default_threads())
    _ = loaded.digest  # now: making Task objects later moves conjure's keys in the dicts
    return loaded


def _never_served(params: Any) -> bool:
    """Runs that must take the normal path whatever the snapshot says."""
    return bool(params.get("trace") or params.get("dry_run") or params.get("always"))


def _hash_dicts(header: bytes, dicts: list[dict[str, Any]], unsafe: set[str]) -> Any:
    """A hasher fed the header then every task dict: one pickle of them all, written
    straight into the hasher, with callables and paths described.

    Tasks whose staleness depends on more than files (``uptodate``, ``calc_dep``) go in as
    their lenient description and are marked unsafe; the values of declared ``env`` names
    are added. Anything the pickler cannot describe faithfully sends every dict through the
    per-task path (with a new hasher), which marks the tasks concerned unsafe. (A set nested
    in a value, e.g. an action's argument, pickles in hash order: such a graph digests
    differently in each process, so it is never served from a snapshot: slower, never
    wrong. doit itself refuses sets where they are common, in ``file_dep`` and ``targets``.)
    """
    plain: list[Any] = []
    environ: set[str] = set()
    for task_dict in dicts:
        if task_dict.get("uptodate") or task_dict.get("calc_dep"):  # beyond files
            unsafe.add(task_dict["name"])
            plain.append(("\0unsafe", describe_value(task_dict)))
            continue
        env = task_dict.get("env")
        if env and isinstance(env, (list, tuple)):  # names read from the environment
            environ.update(map(str, env))
        plain.append(task_dict)
    values = sorted((name, os.environ.get(name)) for name in environ)
    hasher = hashlib.blake2b(header, digest_size=32)
    try:
        _Describer(_Sink(hasher.update)).dump((plain, values))
    except (_OpaqueError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        hasher = hashlib.blake2b(header, digest_size=32)
        for task_dict in dicts:
            hasher.update(_per_task_canon(task_dict, unsafe))
    return hasher


class _Sink:
    """A file for the pickler that is only a ``write`` (the hasher's ``update``)."""

    __slots__ = ("write",)

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self.write = write


def _described(text: str) -> str:
    """Marks a callable's description in the pickle (never called)."""
    return text


def _path(text: str) -> PurePath:
    """Marks a path in the pickle (never called)."""
    return PurePath(text)


class _Describer(pickle.Pickler):
    """A pickler for task dicts: plain data as pickle writes it, C-fast; callables as the
    engine describes them (once per object: pickle memoizes); paths by their text.
    Anything else is opaque. Equal dicts built the same way give equal bytes."""

    def __init__(self, sink: _Sink) -> None:
        super().__init__(sink, protocol=5)

    def reducer_override(self, obj: Any) -> Any:
        if obj is _described or obj is _path:
            return NotImplemented  # the markers themselves are saved by name
        if isinstance(obj, PurePath):
            return _path, (str(obj),)
        if callable(obj) and not isinstance(obj, type):
            return _described, (describe_callable(obj),)
        raise _OpaqueError  # e.g. a str subclass, an object: the per-task path decides


def _per_task_canon(task_dict: dict[str, Any], unsafe: set[str]) -> bytes:
    """One task dict as bytes, the long way; its task is unsafe when it cannot be described."""
    try:
        return _canon_task(task_dict, {})
    except _OpaqueError:
        unsafe.add(task_dict["name"])
        return marshal.dumps(describe_value(task_dict), 2)


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


def _structure(items: list[Any], unsafe: set[str]) -> list[Any]:
    """What doit's loader decided beyond the dicts: subtask links, extra deps, the tasks
    it made itself (groups) or that a creator yielded as ``Task`` objects."""
    out: list[Any] = []
    for item in items:
        if type(item) is _Pending:
            params = item.creator_params
            if item.has_subtask or params is not None or len(item.task_dep) > item.declared:
                out.append(
                    (
                        item.name,
                        item.subtask_of,
                        item.has_subtask,
                        item.task_dep[item.declared :],
                        None if params is None else _canon_lenient(params),
                    )
                )
            else:
                out.append(item.subtask_of)
            continue
        # a Task the loader made itself (a group of subtasks) or one a creator yielded
        if item._actions or item.file_dep or item.targets or item.uptodate or item.loader:
            unsafe.add(item.name)
        out.append(("\0task", item.name, item.doc, item.has_subtask, list(item.task_dep)))
    return out


def serve(loaded: LoadedTasks, params: Any, settings: Settings) -> int | None:
    """Finishes a no-op run from the snapshot; None when the normal path must run.

    Files whose stat moved (a fresh clone with a restored ``cache/``, a ``touch``) are
    hashed and compared with the snapshot's digests; when they all match, the new stats are
    stored and the run is still a no-op. Digests computed before a mismatch is found are
    handed to the normal path (``loaded.hashed``), which then does not hash them again.
    """
    snapshot, job = loaded.snapshot, loaded.stats
    if snapshot is None or job is None:  # none read: no snapshot, or a run never served
        return None
    cache_dir = Path(settings.cache_dir)
    inode, instance, generation = snapshot.identity
    started = time.time()
    if snapshot.digest != loaded.digest:
        job.cancel()
        return None
    current = job.result()
    if current is None or len(current) != len(snapshot.stats):  # the latter: damaged
        return None
    try:
        same_database = os.stat(cache_dir / STATE_FILE).st_ino == inode
    except OSError:
        return None
    if not same_database:  # a copy (CI cache restore) is fine; another database is not
        from conjure.engine.state import read_identity

        if read_identity(cache_dir / STATE_FILE) != (instance, generation):
            return None
    moved: list[int] = []
    stats: list[tuple[int, int, int]] = []
    if current != snapshot.stats:  # one compare in the common case
        moved = filestats.moved_indices(current, snapshot.stats)
        stats = filestats.unpack(current)
    if moved and not _same_content(loaded, snapshot, moved, stats, settings.hash):
        return None
    if moved or not same_database:
        _refresh(cache_dir, settings.hash, snapshot, (current, stats), moved, generation)
    _report(snapshot, params, settings, started)
    return 0


class Snapshot(NamedTuple):
    """What ``cache/noop.snapshot`` holds (marshalled as a plain tuple).

    Attributes:
        fmt: ``FORMAT``.
        digest: ``LoadedTasks.digest`` of the run that wrote it.
        identity: (inode, instance id, generation) of the state database it matches.
        keys: every file dependency and target of the selected tasks
            (``filestats.join_paths``).
        stats: their (size, mtime_ns, inode), ``UNSETTLED`` when too recent, packed
            (``filestats.pack``): compared as bytes with the current stats.
        digests: their digests as bytes, concatenated (read only for files whose stat
            moved).
        names: the selected tasks, in run order.
        hidden: those not listed (groups without actions).
        visible: how many are listed: the summary's "up to date" count.
        record_tail: the run record's fields from ``"counts"`` on, as JSON.
        pending: its stats and digests include rows the state database does not have yet
            (written by the no-op path after re-hashing files whose stat moved).
    """

    fmt: int
    digest: str
    identity: tuple[int, str, int]
    keys: bytes
    stats: bytes
    digests: bytes
    names: list[str]
    hidden: list[str]
    visible: int
    record_tail: str
    pending: bool


def _same_content(
    loaded: LoadedTasks,
    snapshot: Snapshot,
    moved: list[int],
    stats: list[tuple[int, int, int]],
    algorithm: str,
) -> bool:
    """Hashes the files whose stat moved; whether each still has the snapshot's digest.

    ``snapshot.digests`` is every file's digest as bytes, concatenated (all have the same
    length): one bytes object loads in no time, 50,000 strings do not.
    """
    from conjure.engine.hashing import Digester

    digester = Digester(algorithm)
    keys, digests = filestats.split_paths(snapshot.keys), snapshot.digests
    width = len(digests) // len(keys)
    for i in moved:
        try:
            found = digester.of_file(keys[i], stats[i][0])
        except OSError:
            return False
        loaded.hashed[keys[i]] = (stats[i], found)
        if bytes.fromhex(found) != digests[i * width : (i + 1) * width]:
            return False
    return True


def _refresh(
    cache_dir: Path,
    algorithm: str,
    snapshot: Snapshot,
    current: tuple[bytes, list[tuple[int, int, int]]],
    moved: list[int],
    generation: int,
) -> None:
    """Stores a snapshot with the new stats of the re-hashed files (racy ones unsettled).

    ``current`` is the stats just taken, packed and unpacked (the latter needed only at
    ``moved``).

    The state database's file rows are not written here (10,000 rows in a fresh clone cost
    more than the rest of the run): the snapshot is marked ``pending``, and the next
    ``doit run`` that takes the normal path learns its rows (``pending_rows``, in
    ``cli/run.py``). A row says "a file with this stat has this digest", which stays true
    whenever it is written.
    """
    from conjure.engine.files import is_racy
    from conjure.engine.state import StateStore

    state = StateStore(cache_dir / STATE_FILE, algorithm)
    try:
        now = time.time()
        packed, values = current  # a recorded UNSETTLED never matches: it moved
        stats = filestats.unsettle(packed, [i for i in moved if is_racy(values[i][1], now)])
        identity = (os.stat(state.path).st_ino, snapshot.identity[1], snapshot.identity[2])
        data = snapshot._replace(identity=identity, stats=stats, pending=True)
        state.write_snapshot(marshal.dumps(tuple(data), 2), generation)
    finally:
        state.close()


def _report(snapshot: Snapshot, params: Any, settings: Settings, started: float) -> None:
    """The output and run record of a no-op run, as the engine would produce them.

    Below verbosity 2 a no-op shows only its counts line: written here, with the record
    from the snapshot's pre-rendered tail, without event objects, reporters or rich.
    """
    from conjure.engine.records import new_run_id, save_run_text

    verbosity = params.get("verbosity")
    if verbosity is not None and verbosity >= 2:
        _report_each(snapshot, verbosity, settings, started)
        return
    jobs = settings.jobs or os.cpu_count() or 1
    run_id = new_run_id()
    finished = time.time()
    head = json.dumps(
        {
            "run_id": run_id,
            "started": started,
            "finished": finished,
            "elapsed": finished - started,
            "argv": sys.argv[1:],
            "jobs": jobs,
            "exit_code": 0,
        },
        separators=(",", ":"),
    )
    text = f'{head[:-1]},{snapshot.record_tail},"from_snapshot":true}}'
    save_run_text(Path(settings.cache_dir) / RUNS_DIR, run_id, text, settings.keep_runs)
    from conjure.engine.statuses import UP_TO_DATE, counts_text
    from conjure.report import wants_rich

    line = "conjure: " + counts_text({UP_TO_DATE: snapshot.visible}, finished - started)
    if wants_rich(settings.output, sys.stdout) and "NO_COLOR" not in os.environ:
        line = f"\x1b[1;32m{line}\x1b[0m"  # the live reporter's closing style, bold green
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _report_each(snapshot: Snapshot, verbosity: int, settings: Settings, started: float) -> None:
    """The no-op's events through the reporter, which lists every up-to-date task."""
    from conjure.engine.events import UP_TO_DATE, RunFinished, RunStarted, TaskResult
    from conjure.engine.records import new_run_id, record_run
    from conjure.report import make_reporter

    reporter = make_reporter(settings.output, verbosity, frozenset(snapshot.hidden))
    jobs = settings.jobs or os.cpu_count() or 1
    run_id = new_run_id()
    reporter.handle(RunStarted(run_id, list(snapshot.names), jobs))
    results = [TaskResult(name, UP_TO_DATE) for name in snapshot.names]
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


def read_snapshot(cache_dir: Path) -> Snapshot | None:
    """The snapshot in ``cache_dir``; None when there is none, or it is damaged or of
    another ``FORMAT``."""
    try:
        snapshot = Snapshot(*marshal.loads((cache_dir / SNAPSHOT_FILE).read_bytes()))
        _inode, _instance, _generation = snapshot.identity  # a malformed one fails here
        whole = isinstance(snapshot.keys, bytes) and isinstance(snapshot.stats, bytes)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return snapshot if snapshot.fmt == FORMAT and whole else None


def pending_rows(snapshot: Snapshot | None) -> list[tuple[str, tuple[int, int, int], str]]:
    """The file rows a no-op left in the snapshot for the state database: (path, stat,
    digest) of each file with a settled stat; empty when there are none or no snapshot."""
    from conjure.engine.files import UNSETTLED

    if snapshot is None or not snapshot.pending:
        return []
    try:
        keys = filestats.split_paths(snapshot.keys)
        stats = filestats.unpack(snapshot.stats)
        width = len(snapshot.digests) // max(1, len(keys))
        pairs = list(zip(keys, stats, strict=True))
    except (ValueError, TypeError):
        return []
    return [
        (key, stat, snapshot.digests[i * width : (i + 1) * width].hex())
        for i, (key, stat) in enumerate(pairs)
        if stat != UNSETTLED
    ]


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
    from conjure.engine.records import run_record
    from conjure.report.plain import is_visible

    if any(r.status != UP_TO_DATE for r in results) or len(results) != len(names):
        return False
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
    try:  # every digest is hex of one length; anything else is never snapshotted
        raw = [bytes.fromhex(digest) for _, digest in entries.values()]
    except ValueError:
        return False
    if len({len(one) for one in raw}) > 1:
        return False
    digests = b"".join(raw)
    state = session.state
    record = run_record("", results, started=0, finished=0, argv=(), jobs=0, exit_code=0)
    tail = json.dumps(
        {k: record[k] for k in ("counts", "tasks", "up_to_date")}, separators=(",", ":")
    )
    snapshot = Snapshot(
        FORMAT,
        loaded.digest,
        (os.stat(state.path).st_ino, state.instance(), session.generation),
        filestats.join_paths(entries),
        filestats.pack(stat for stat, _ in entries.values()),
        digests,
        [r.name for r in results],
        sorted(hidden.intersection(names)),
        sum(1 for r in results if is_visible(r, hidden)),
        tail[1:-1],
        False,
    )
    return state.write_snapshot(marshal.dumps(tuple(snapshot), 2), session.generation)
