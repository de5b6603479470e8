"""``doit [run]`` on conjure's engine: select, validate, schedule, report, record."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conjure.cli import noop
from conjure.cli.commands import select
from conjure.cli.noop import LoadedTasks
from conjure.cli.session import (
    Session,
    attach_tasks,
    check_missing_sources,
    open_session,
)
from conjure.engine.capture import routed_std_streams
from conjure.engine.events import (
    CACHED,
    CANCELLED,
    FAILED,
    RAN,
    SKIPPED,
    Notice,
    RunFinished,
    RunStarted,
    TaskResult,
)
from conjure.engine.layout import RUNS_DIR
from conjure.engine.model import Cancel
from conjure.engine.plan import explain
from conjure.engine.records import (
    chrome_trace,
    new_run_id,
    record_run,
    write_json_atomic,
)
from conjure.engine.scheduler import Interrupted, RunOptions, Scheduler
from conjure.errors import EXIT_OK, EXIT_TASK_FAILED
from conjure.report import Reporter, make_reporter
from conjure.settings import Settings


def run_tasks(command: Any, params: Any, loaded: LoadedTasks, settings: Settings) -> int:
    """Runs the selected tasks; returns the exit code (0, 1, 130 or 143).

    Raises:
        ConjureError: bad configuration or an invalid graph (exit code 2), before anything runs.
    """
    session = open_session({}, {}, settings)
    try:
        return _run(command, params, session, loaded)
    finally:
        session.close()


def _run(command: Any, params: Any, session: Session, loaded: LoadedTasks) -> int:
    tasks = loaded.tasks()
    attach_tasks(session, tasks)
    # what the no-op path knows about files: rows a refresh left pending in the snapshot,
    # then what it hashed this run; written with the first record or at the end
    snapshot = loaded.snapshot or noop.read_snapshot(session.cache_dir)
    for key, stat, digest in noop.pending_rows(snapshot):
        session.files.learn(key, stat, digest)
    for key, (stat, digest) in loaded.hashed.items():
        session.files.learn(key, stat, digest)
    assert session.graph is not None
    selected = select(tasks, command.sel_tasks)
    names = selected if params.get("single") else session.graph.closure(selected)
    check_missing_sources(session, names)
    verbosity = params.get("verbosity")
    hidden = frozenset(n for n, w in session.works.items() if not w.has_actions)
    reporter = make_reporter(session.settings.output, 1 if verbosity is None else verbosity, hidden)
    for warning in session.state.warnings:
        reporter.handle(Notice(warning))
    forced = frozenset(names) if params.get("always") else frozenset()
    if params.get("dry_run"):
        return _dry_run(session, names, forced, reporter)
    code, results = _execute(session, names, forced, params, reporter)
    if code == EXIT_OK and not forced and not params.get("single"):
        noop.save(session, loaded, names, results, hidden)
    return code


def _dry_run(
    session: Session, names: Sequence[str], forced: frozenset[str], reporter: Reporter
) -> int:
    started = time.time()
    reporter.handle(RunStarted("dry-run", list(names), 0, dry_run=True))
    results = explain(session.works, names, session.checker(), forced)
    for result in results:
        reporter.handle(result)
    reporter.handle(RunFinished(results, time.time() - started))
    reporter.close()
    return EXIT_OK


def _execute(
    session: Session, names: Sequence[str], forced: frozenset[str], params: Any, reporter: Reporter
) -> tuple[int, list[TaskResult]]:
    """Runs the tasks; returns the exit code and every task's result."""
    assert session.graph is not None
    settings = session.settings
    jobs = settings.jobs or os.cpu_count() or 1
    options = RunOptions(
        jobs=jobs, keep_going=settings.keep_going, forced=forced, pools=settings.pools
    )
    run_id = new_run_id()
    started = time.time()
    scheduler = Scheduler(
        session.works,
        session.graph,
        names,
        session.checker(),
        session.state,
        options,
        reporter.handle,
        session.output_cache,
    )
    reporter.handle(RunStarted(run_id, list(names), jobs))
    interrupted = 0
    try:
        with routed_std_streams(), _sigterm_raises():
            try:
                results = scheduler.run()
            except Interrupted as stop:
                interrupted = stop.exit_code
                results = list(scheduler.results.values())
                results = _finally_after_stop(session, names, results, reporter)
            results += _teardown(session, results)
    finally:
        session.state.record_files(session.files.dirty)
        if scheduler.cache is not None:
            for warning in scheduler.cache.finish(settings.cache_max_size):
                reporter.handle(Notice(warning))
    finished = time.time()
    code = interrupted or _exit_code(results)
    path = record_run(
        session.cache_dir / RUNS_DIR,
        run_id,
        results,
        started=started,
        finished=finished,
        jobs=jobs,
        exit_code=code,
        keep=settings.keep_runs,
    )
    if params.get("trace"):
        write_json_atomic(Path(params["trace"]), chrome_trace(results, started))
    reporter.handle(RunFinished(results, finished - started, bool(interrupted), str(path)))
    reporter.close()
    return code, results


def _exit_code(results: Sequence[TaskResult]) -> int:
    """0 when nothing failed; the child's exit code when the first failure was a command (or
    a ``conjure.shell`` call) that exited non-zero, as Mage does; otherwise 1."""
    failed = [r for r in results if r.status == FAILED]
    if not failed:
        return EXIT_OK
    code = failed[0].exit_code
    return code if code is not None and 0 < code < 256 else EXIT_TASK_FAILED


def _finally_after_stop(
    session: Session, names: Sequence[str], results: list[TaskResult], reporter: Reporter
) -> list[TaskResult]:
    """After Ctrl-C or SIGTERM: runs the finally tasks (a suite's teardown, say) below which
    something started, one at a time on this thread, so what a setup started is stopped. A
    second Ctrl-C or SIGTERM stops them too (their children included).

    Returns:
        The results, with those of the finally tasks that ran replacing "skipped".
    """
    assert session.graph is not None
    done = {r.name: r for r in results}

    def status(task: str) -> str:
        return done[task].status if task in done else SKIPPED

    for name in names:
        work = session.works[name]
        if not work.is_finally or status(name) != SKIPPED:
            continue
        below = session.graph.closure([name])[:-1]
        if not any(status(d) in (RAN, FAILED, CANCELLED, CACHED) for d in below):
            continue  # nothing it cleans up after got as far as starting
        upstream = {d: status(d) for d in session.graph.deps[name]}
        start = time.time()
        try:
            outcome = work.execute([], Cancel(), upstream)
        except (KeyboardInterrupt, Interrupted):
            break
        ended = RAN if outcome.ok else FAILED
        done[name] = TaskResult(
            name, ended, output=outcome.output, error=outcome.error, start=start, end=time.time()
        )
        reporter.handle(done[name])
    return list(done.values())


def _teardown(session: Session, results: Sequence[TaskResult]) -> list[TaskResult]:
    """Runs teardown actions of the tasks that ran, last first (doit's order)."""
    failures = []
    for result in reversed(results):
        work = session.works[result.name]
        if result.status != RAN or not work.task.teardown:
            continue
        outcome = work.teardown()
        if not outcome.ok:
            failures.append(
                TaskResult(
                    f"{result.name} (teardown)", FAILED, output=outcome.output, error=outcome.error
                )
            )
    return failures


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turns SIGTERM (a CI timeout, ``kill``) into an orderly stop: children are stopped too."""

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(143)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
