"""Parallel execution in dependency order, the longest remaining path first.

The main thread owns the graph, the file index and the state database: it checks tasks as
they become ready, starts stale ones on worker threads and records each success as it
arrives. Workers only restore outputs from the cache or run actions. A failure stops the run
(fail-fast: running tasks are cancelled) unless ``keep_going`` is set, in which case
everything that does not depend on the failure still runs. Dependents of a failed task never
start.

A *finally* task (``work.is_finally``) is the exception: it starts once each of its
dependencies has finished in any way (ran, up to date, cached, failed, cancelled or skipped),
also after a fail-fast stop, and fail-fast never cancels it. Its own outcome is what its
dependents see: a failure upstream of it does not skip them past it. Ctrl-C and SIGTERM stop
everything, finally tasks included; the command then runs the finally tasks below which
something had started, one at a time (``cli/run.py``).
"""

from __future__ import annotations

import heapq
import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conjure.engine.events import (
    CACHED,
    CANCELLED,
    FAILED,
    RAN,
    SKIPPED,
    UP_TO_DATE,
    Emit,
    Notice,
    TaskResult,
    TaskStarted,
)
from conjure.engine.files import MISSING, FileIndex
from conjure.engine.graph import Graph, remaining_path
from conjure.engine.model import Cancel, Outcome, Work
from conjure.engine.state import StateStore, TaskRecord
from conjure.engine.status import Check, StatusChecker
from conjure.errors import GraphError

if TYPE_CHECKING:
    from conjure.engine.cache.outputs import OutputCache

SUCCESS = frozenset({RAN, CACHED, UP_TO_DATE})
"""Statuses after which a task's dependents may start (and a finally task's ``upstream``
entries that mean "succeeded")."""

_NOT_STARTED = "not started: the run stopped"


class Interrupted(Exception):  # noqa: N818 - a stop request, not an error
    """The run was stopped from outside (Ctrl-C, SIGTERM).

    Attributes:
        exit_code: 130 for Ctrl-C, 143 for SIGTERM.
    """

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


@dataclass
class RunOptions:
    """How to run.

    Attributes:
        jobs: worker threads.
        keep_going: do not stop at the first failure.
        forced: tasks to run even when up to date.
        pools: concurrency limit per pool name.
    """

    jobs: int
    keep_going: bool = False
    forced: frozenset[str] = frozenset()
    pools: Mapping[str, int] = field(default_factory=dict)


@dataclass
class _Key:
    """A task's key for this run, and whether its outputs go through the cache."""

    key: str
    parts: dict[str, Any]
    cacheable: bool


@dataclass
class _Running:
    """A started task. The worker fills ``notes`` and ``restored`` before it reports."""

    work: Work
    check: Check
    cancel: Cancel
    worker: int
    start: float
    key: _Key | None
    upstream: dict[str, str] | None
    notes: list[str] = field(default_factory=list)
    restored: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """The stat of each file its restore wrote."""


class Scheduler:
    """Runs the tasks of one run.

    Args:
        works: every task by name.
        graph: the validated graph.
        names: the tasks of this run, in dependency order.
        checker: the up-to-date checker.
        state: where successes are recorded.
        options: how to run.
        emit: receives events.
        open_cache: opens the output cache (None when it is off); called when the first
            stale task needs a key, so a run with nothing to do never loads the cache code.
    """

    def __init__(
        self,
        works: Mapping[str, Work],
        graph: Graph,
        names: Sequence[str],
        checker: StatusChecker,
        state: StateStore,
        options: RunOptions,
        emit: Emit,
        open_cache: Callable[[], OutputCache | None] | None = None,
    ) -> None:
        self.works = works
        self.cache: OutputCache | None = None
        self._open_cache = open_cache
        self.keys: dict[str, str | None] = {}
        self.graph = graph
        self.names = list(names)
        self.checker = checker
        self.files: FileIndex = checker.files
        self.state = state
        self.options = options
        self.emit = emit
        self.results: dict[str, TaskResult] = {}
        self.outcomes: dict[str, Outcome] = {}
        self._done: queue.Queue[tuple[str, Outcome | None, float]] = queue.Queue()
        self._running: dict[str, _Running] = {}
        self._free_workers = list(range(options.jobs - 1, -1, -1))
        self._pool_use: Counter[str] = Counter()
        self._stopping = False
        self._threads = _Threads()

    def run(self) -> list[TaskResult]:
        """Runs every task of the run; returns the results in the order they finished.

        Raises:
            Interrupted: Ctrl-C or SIGTERM; running tasks were stopped first.
        """
        subset = set(self.names)
        self._waiting = {n: sum(1 for d in self.graph.deps[n] if d in subset) for n in self.names}
        self._dependents = self.graph.dependents(self.names)
        self._priority = remaining_path(self.graph, self.names, self._weights())
        self._order = {name: index for index, name in enumerate(self.names)}
        self._ready: list[tuple[float, int, str]] = []
        for name in self.names:
            if self._waiting[name] == 0:
                self._push(name)
        try:
            self._loop()
        except KeyboardInterrupt:
            self._abort("interrupted")
            raise Interrupted(130) from None
        except Interrupted:
            self._abort("terminated")
            raise
        finally:
            self._threads.close()
        return list(self.results.values())

    def _weights(self) -> dict[str, float]:
        known = {n: r.duration for n, r in self.checker.records.items() if n in self._waiting}
        default = sum(known.values()) / len(known) if known else 1.0
        return {name: known.get(name, default) for name in self.names}

    def _push(self, name: str) -> None:
        heapq.heappush(self._ready, (-self._priority[name], self._order[name], name))

    def _loop(self) -> None:
        while True:
            self._dispatch()
            if not self._running:
                break
            try:
                name, outcome, end = self._done.get(timeout=0.25)
            except queue.Empty:
                continue
            self._finish(name, outcome, end)
        for name in self.names:
            if name not in self.results:
                self._result(TaskResult(name, SKIPPED, error=_NOT_STARTED))

    def _dispatch(self) -> None:
        """Starts ready tasks while workers are free, highest priority first.

        After a fail-fast stop only finally tasks start; every other ready task is skipped
        (with what depends on it), which is what lets the finally tasks after it start.
        """
        if self._stopping:
            self._skip_ready()
        held: list[tuple[float, int, str]] = []
        while self._ready and len(self._running) < self.options.jobs:
            entry = heapq.heappop(self._ready)
            work = self.works[entry[2]]
            if work.name in self.results:
                continue
            if work.pool is not None and self._pool_full(work.pool):
                held.append(entry)
                continue
            self._start_or_skip(work)
        for entry in held:
            heapq.heappush(self._ready, entry)

    def _skip_ready(self) -> None:
        """Skips the ready tasks that are not finally tasks, and their dependents."""
        kept: list[tuple[float, int, str]] = []
        while self._ready:
            entry = heapq.heappop(self._ready)
            if self.works[entry[2]].is_finally:
                kept.append(entry)
                continue
            for name in [entry[2], *self._dependents_of(entry[2])]:
                if name not in self.results:
                    self._result(TaskResult(name, SKIPPED, error=_NOT_STARTED))
        for entry in kept:
            heapq.heappush(self._ready, entry)

    def _pool_full(self, pool: str) -> bool:
        return self._pool_use[pool] >= self.options.pools.get(pool, 1)

    def _start_or_skip(self, work: Work) -> None:
        try:
            check = self.checker.check(work, forced=work.name in self.options.forced)
        except GraphError as err:
            self._fail(TaskResult(work.name, FAILED, error=str(err)))
            return
        if not check.stale:
            record = self.checker.records.get(work.name)
            self.keys[work.name] = record.key if record else None
            self._result(TaskResult(work.name, UP_TO_DATE))
            return
        upstream = self._upstream(work)
        key = self._key(work, check, upstream)
        restore = key is not None and key.cacheable and self.cache is not None
        if not restore:
            self._invalidate(work.name)
        worker = self._free_workers.pop()
        running = _Running(work, check, Cancel(), worker, time.time(), key, upstream)
        self._running[work.name] = running
        if work.pool is not None:
            self._pool_use[work.pool] += 1
        self.emit(TaskStarted(work.name, worker, check.reasons))
        self._submit(running, restore)

    def _invalidate(self, name: str) -> None:
        """Forgets a task's record before it runs for real (one that never succeeded has
        none). A restore from the cache does not need to: it writes only the task's targets,
        whole verified files, so the old record is never trusted unless every target is as
        recorded again."""
        if name in self.checker.records:
            self.state.invalidate(name)

    def _submit(self, running: _Running, restore: bool) -> None:
        self._threads.submit(lambda: self._work(running, restore), len(self._running))

    def _upstream(self, work: Work) -> dict[str, str] | None:
        """For a finally task, how each of its dependencies in this run ended; else None."""
        if not work.is_finally:
            return None
        return {d: self.results[d].status for d in self.graph.deps[work.name] if d in self.results}

    def _key(self, work: Work, check: Check, upstream: dict[str, str] | None) -> _Key | None:
        """The task's key, when the cache is on and every dependency's key is known.

        A finally task after a failure upstream has none: what it produces then must not be
        restored for a run whose dependencies succeed with the same inputs (a flaky test).
        """
        if self._open_cache is not None:
            self.cache, self._open_cache = self._open_cache(), None
        if self.cache is None or (upstream and not all(s in SUCCESS for s in upstream.values())):
            self.keys[work.name] = None
            return None
        deps = {}
        for dep in self.graph.deps[work.name]:
            dep_key = self.keys.get(dep)
            if dep_key is None:
                record = self.checker.records.get(dep)
                dep_key = record.key if record else None
            if dep_key is None:
                self.keys[work.name] = None
                return None
            deps[dep] = dep_key
        key, parts = self.cache.key(work, check, deps)
        self.keys[work.name] = key
        cacheable = work.cacheable and not any(r.kind == "forced" for r in check.reasons)
        return _Key(key, parts, cacheable)

    def _work(self, running: _Running, restore: bool) -> None:
        """Worker thread body, never raises: restores the task from the cache (``restore``)
        or runs its actions. A restore that misses reports no outcome: the scheduler then
        forgets the task's record and hands the task back to run for real."""
        outcome: Outcome | None
        try:
            outcome = self._restore(running) if restore else self._execute(running)
        except BaseException as err:  # noqa: BLE001 - a worker must always report back
            outcome = Outcome(ok=False, error=f"{type(err).__name__}: {err}")
        if outcome is not None:
            outcome.notes.extend(running.notes)
        self._done.put((running.work.name, outcome, time.time()))

    def _execute(self, running: _Running) -> Outcome:
        """Runs the actions; stores the outputs of a cacheable success."""
        work, key, cancel = running.work, running.key, running.cancel
        started = time.time()
        outcome = work.execute(running.check.changed_files, cancel, running.upstream)
        if outcome.ok and key is not None and key.cacheable and not cancel.cancelled:
            self._save(work, key, outcome, time.time() - started, running.notes)
        return outcome

    def _restore(self, running: _Running) -> Outcome | None:
        assert self.cache is not None and running.key is not None
        hit = self.cache.restore(running.key.key, running.notes)
        if hit is None:
            return None
        running.restored = {p: s for p, s in hit.written.items() if s is not None}
        manifest = hit.manifest
        return Outcome(
            ok=True,
            output=hit.log,
            exit_code=manifest.exit_code,
            values=manifest.values,
            result=manifest.result,
            cached=hit.source,
            duration=manifest.duration,
            files={e["path"]: e["digest"] for e in manifest.entries if e["type"] == "file"},
        )

    def _save(
        self, work: Work, key: _Key, outcome: Outcome, duration: float, notes: list[str]
    ) -> None:
        assert self.cache is not None
        try:
            self.cache.save(
                name=work.name,
                key=key.key,
                parts=key.parts,
                targets=list(work.spec.targets),
                output=outcome.output,
                duration=duration,
                values=outcome.values,
                result=outcome.result,
            )
        except FileNotFoundError:
            pass  # a missing target fails the task when it is recorded
        except OSError as err:
            notes.append(f"{work.name}: outputs not stored in the cache: {err}")

    def _finish(self, name: str, outcome: Outcome | None, end: float) -> None:
        if outcome is None:  # the restore missed: run it for real
            self._invalidate(name)
            self._submit(self._running[name], restore=False)
            return
        running = self._running.pop(name)
        self._free_workers.append(running.worker)
        if running.work.pool is not None:
            self._pool_use[running.work.pool] -= 1
        for note in outcome.notes:
            self.emit(Notice(note))
        result = TaskResult(
            name,
            CACHED if outcome.cached else RAN,
            reasons=running.check.reasons,
            output=outcome.output,
            start=running.start,
            end=end,
            worker=running.worker,
            exit_code=outcome.exit_code,
            source=outcome.cached,
        )
        if outcome.ok:
            outcome.ok, outcome.error = self._record(running, outcome, end)
        if outcome.ok:
            self.outcomes[name] = outcome
            self._result(result)
            return
        result.status = (
            CANCELLED if running.cancel.cancelled and not _timed_out(running) else FAILED
        )
        result.error = outcome.error
        self._fail(result)

    def _record(self, running: _Running, outcome: Outcome, end: float) -> tuple[bool, str]:
        """Hashes the targets and stores the success; a missing target is a failure."""
        work = running.work
        self.files.forget(work.spec.targets)
        for path, digest in outcome.files.items():
            self.files.trust(path, digest, running.restored.get(path))
        targets = {}
        for key in work.spec.targets:
            digest = self.files.digest(key)
            if digest == MISSING:
                return False, f"task did not create its target {key}"
            targets[key] = digest
        record = TaskRecord(
            name=work.name,
            definition=running.check.definition,
            parts=running.check.parts,
            inputs=running.check.inputs,
            deps=json.dumps(running.check.deps, sort_keys=True),
            targets=json.dumps(targets, sort_keys=True),
            values=json.dumps(outcome.values, sort_keys=True, default=str),
            result=outcome.result,
            duration=outcome.duration if outcome.duration is not None else end - running.start,
            finished=end,
            key=running.key.key if running.key else None,
        )
        self.state.record(record, self.files.dirty, running.key.parts if running.key else None)
        self.files.dirty.clear()
        self.checker.records[work.name] = record
        return True, ""

    def _fail(self, result: TaskResult) -> None:
        self._result(result)
        for name in self._dependents_of(result.name):
            if name not in self.results:
                self._result(
                    TaskResult(name, SKIPPED, error=f"not run: {result.name!r} {result.status}")
                )
        if not self.options.keep_going and not self._stopping:
            self._stopping = True
            for running in self._running.values():
                if not running.work.is_finally:
                    running.cancel.cancel("fail-fast")

    def _dependents_of(self, name: str) -> list[str]:
        """What a failure of ``name`` skips: its dependents, transitively, up to (and not
        including) finally tasks, which run and decide for their own dependents."""
        found: list[str] = []
        stack = [d for d in self._dependents.get(name, ()) if not self.works[d].is_finally]
        seen = set(stack)
        while stack:
            current = stack.pop()
            found.append(current)
            for other in self._dependents.get(current, ()):
                if other not in seen and not self.works[other].is_finally:
                    seen.add(other)
                    stack.append(other)
        return sorted(found, key=self._order.__getitem__)

    def _result(self, result: TaskResult) -> None:
        """Records and emits a task's result, then counts it as done for the tasks waiting
        for it: all of them after a success, only finally tasks otherwise."""
        self.results[result.name] = result
        self.emit(result)
        ok = result.status in SUCCESS
        for dependent in self._dependents.get(result.name, ()):
            if dependent in self.results or not (ok or self.works[dependent].is_finally):
                continue
            self._waiting[dependent] -= 1
            if self._waiting[dependent] == 0:
                self._push(dependent)

    def _abort(self, why: str) -> None:
        """Stops every running task and waits for the workers to report."""
        self._stopping = True
        for running in self._running.values():
            running.cancel.cancel(why)
        while self._running:
            try:
                name, outcome, end = self._done.get(timeout=0.25)
            except queue.Empty:
                continue
            except KeyboardInterrupt:
                continue
            running = self._running.pop(name)
            self._result(
                TaskResult(
                    name,
                    CANCELLED,
                    reasons=running.check.reasons,
                    output=outcome.output if outcome is not None else "",
                    error=why,
                    start=running.start,
                    end=end,
                    worker=running.worker,
                )
            )
        for name in self.names:
            if name not in self.results:
                self._result(TaskResult(name, SKIPPED, error=f"not started: {why}"))


class _Threads:
    """The worker threads of one run, started as they are first needed and fed by one queue.

    A thread per task would cost more than it seems: ``Thread.start`` waits for the new
    thread to take the GIL and then for the GIL back, milliseconds when restore threads are
    busy. The scheduler never has more jobs out than ``jobs``, so neither has this.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._count = 0

    def submit(self, job: Callable[[], None], busy: int) -> None:
        """Queues a job; ``busy`` is how many jobs are out, this one included."""
        if self._count < busy:
            self._count += 1
            name = f"conjure-worker-{self._count}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        self._jobs.put(job)

    def close(self) -> None:
        """Lets every thread end once it is idle (the scheduler waited for their jobs)."""
        for _ in range(self._count):
            self._jobs.put(None)
        self._count = 0

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


def _timed_out(running: _Running) -> bool:
    return running.cancel.reason == "timeout"
