"""Runs one suite (the action of ``test-<suite>``): its parts, re-runs of failed tests, and
its records: ``cache/testing/results/<suite>.json``, ``junit/<suite>.xml``, durations.

It runs as its own process (``python -m conjure.testing run CONFIG``) so that the engine's
task timeout can stop it, and it stops its own test processes at the suite's timeout first,
reporting the tests that had not finished as failures with their last output.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conjure.testing._coverage import is_profile_of
from conjure.testing._durations import durations_path, record_durations, write_json_atomic
from conjure.testing._gotest import GoEvents
from conjure.testing._junit import merged_junit, parse_pytest_junit
from conjure.testing._model import FAILED, FLAKY, PASSED, SKIPPED, SuiteResult, TestCase
from conjure.testing._process import Finished, run_streaming, stop_all
from conjure.testing._suite import GoTests, PytestTests, Tests, tests_from_dict

PYTEST_NO_TESTS = 5


@dataclass
class RunConfig:
    """What the suite runner is told (JSON on its command line).

    Attributes:
        suite: ``Suite.as_dict()``.
        cache_dir: the cache folder.
        k: a pytest ``-k`` expression.
        reruns: how many times failed tests are run again.
        plan: the suite's plan file (the tests of this shard, in order), or "".
        shard: ``K/N`` for notes, or "".
        seed: a shuffle seed for ``go test -shuffle``, or None.
    """

    suite: dict[str, Any]
    cache_dir: str = "cache"
    k: str = ""
    reruns: int = 0
    plan: str = ""
    shard: str = ""
    seed: int | None = None
    notes: list[str] = field(default_factory=list)


def results_path(cache_dir: Path, suite: str) -> Path:
    """Where a suite's results are kept."""
    return cache_dir / "testing" / "results" / f"{suite}.json"


def junit_path(cache_dir: Path, suite: str) -> Path:
    """Where a suite's JUnit XML is kept."""
    return cache_dir / "testing" / "junit" / f"{suite}.xml"


def run_suite(config: RunConfig, echo: Callable[[str], object] | None = None) -> int:
    """Runs a suite; returns 0 when no test failed (flaky ones pass), else 1.

    Args:
        config: what to run.
        echo: where output lines go (stdout by default).
    """
    echo = echo or sys.stdout.write
    name = config.suite["name"]
    parts = [tests_from_dict(t) for t in config.suite["tests"]]
    cache = Path(config.cache_dir)
    timeout = config.suite.get("timeout")
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    selection, chunks = _selection(config.plan)
    result = SuiteResult(name, time.time(), 0.0, shard=config.shard)
    _forget_coverage(cache, name)
    profiles = itertools.count(1)

    def runner(out: Callable[[str], object]) -> _Runner:
        return _Runner(config, cache, deadline, out, result.notes, profiles)

    if len(chunks) > 1:
        result.cases.extend(run_chunks(runner, parts, chunks, echo))
    else:
        result.cases.extend(run_parts(runner(echo), parts, selection))
    if selection is not None and not any(selection.values()):
        result.notes.append(f"shard {config.shard}: no tests of suite {name} in this shard")
    result.finished = time.time()
    _save(cache, result)
    echo(summary_line(result) + "\n")
    for note in result.notes:
        echo(f"note: {note}\n")
    return 0 if result.ok else 1


def run_parts(
    runner: _Runner, parts: Sequence[Tests], selection: dict[str, list[str]] | None
) -> list[TestCase]:
    """Runs the suite's parts one after the other: all their tests, or the selected ones."""
    cases: list[TestCase] = []
    for index, part in enumerate(parts):
        names = None if selection is None else selection.get(str(index), [])
        if names is not None and not names:
            continue
        cases.extend(runner.run_with_reruns(part, index, names))
    return cases


def run_chunks(
    runner: Callable[[Callable[[str], object]], _Runner],
    parts: Sequence[Tests],
    chunks: Sequence[dict[str, list[str]]],
    echo: Callable[[str], object],
) -> list[TestCase]:
    """Runs a suite's chunks as separate test processes, as many at a time as this machine
    has CPUs, heaviest first: a worker that is free takes the next chunk (a local queue, so
    a chunk that runs longer than predicted delays no other). Each chunk's output is shown
    as one block when it ends."""
    lock = threading.Lock()

    def run_one(number: int, selection: dict[str, list[str]]) -> list[TestCase]:
        lines: list[str] = []
        cases = run_parts(runner(lines.append), parts, selection)
        with lock:
            echo(f"== chunk {number}/{len(chunks)}\n" + "".join(lines))
        return cases

    pool = ThreadPoolExecutor(max_workers=local_workers(), thread_name_prefix="chunk")
    try:
        futures = [pool.submit(run_one, n, c) for n, c in enumerate(chunks, 1)]
        return [case for future in futures for case in future.result()]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def local_workers() -> int:
    """The CPUs this process may use (its affinity where the platform tells, as in a
    container limited to some CPUs), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _forget_coverage(cache: Path, suite: str) -> None:
    """Deletes the suite's coverage files of an earlier run (a restored cache brings them):
    what is combined after this run is this run's."""
    folder = cache / "testing" / "coverage"
    for path in [
        *(p for p in (folder / "go").glob(f"{suite}-*.out") if is_profile_of(p, suite)),
        *(folder / "python").glob(f".coverage.{suite}.*"),
    ]:
        path.unlink(missing_ok=True)


def _selection(plan: str) -> tuple[dict[str, list[str]] | None, list[dict[str, list[str]]]]:
    """This shard's selectors per part (None: no plan, run everything), and its chunks."""
    if not plan:
        return None, []
    data = json.loads(Path(plan).read_text(encoding="utf-8"))
    run: dict[str, list[str]] = data["run"]
    chunks: list[dict[str, list[str]]] = data.get("chunks", [])
    return run, chunks


def _save(cache: Path, result: SuiteResult) -> None:
    write_json_atomic(results_path(cache, result.suite), result.as_dict())
    path = junit_path(cache, result.suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(merged_junit([result]))
    measured = {
        c.key: c.duration
        for c in result.cases
        if c.outcome in (PASSED, FLAKY, FAILED, SKIPPED) and not c.name.startswith("[")
    }
    record_durations(durations_path(cache), measured)


def summary_line(result: SuiteResult) -> str:
    """``suite unit: 12 passed, 1 failed, 2 skipped, 1 flaky in 3.2s``."""
    counts = ", ".join(
        f"{result.count(o)} {o}"
        for o in ("passed", "failed", "skipped", "flaky")
        if result.count(o)
    )
    return f"suite {result.suite}: {counts or 'no tests'} in {result.duration:.1f}s"


class _Runner:
    def __init__(
        self,
        config: RunConfig,
        cache: Path,
        deadline: float | None,
        echo: Callable[[str], object],
        notes: list[str],
        profiles: Iterator[int],
    ) -> None:
        self.config = config
        self.cache = cache
        self.deadline = deadline
        self.echo = echo
        self.notes = notes
        self.profiles = profiles  # numbers cover profiles; shared by a suite's chunks

    def run_with_reruns(self, part: Tests, index: int, names: list[str] | None) -> list[TestCase]:
        cases = self.run_part(part, index, names, attempt=1)
        for attempt in range(2, self.config.reruns + 2):
            failed = [c for c in cases if c.outcome == FAILED and not c.name.startswith("[")]
            if not failed or self._expired():
                break
            self.echo(f"\n== re-running {len(failed)} failed test(s), attempt {attempt}\n")
            selectors = [selector(c) for c in failed]
            again = {c.key: c for c in self.run_part(part, index, selectors, attempt)}
            cases = [_merge_attempt(c, again.get(c.key)) if c in failed else c for c in cases]
        return cases

    def _expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def run_part(
        self, part: Tests, index: int, names: list[str] | None, attempt: int
    ) -> list[TestCase]:
        if isinstance(part, PytestTests):
            return self._pytest(part, index, names, attempt)
        return self._go(part, names, attempt)

    def _env(self, extra: dict[str, str], uv: bool) -> dict[str, str]:
        env = {**os.environ, **{k: str(v) for k, v in extra.items()}}
        if uv:
            env.pop("VIRTUAL_ENV", None)  # the project's own environment, not ours
        return env

    def _pytest(
        self, part: PytestTests, index: int, names: list[str] | None, attempt: int
    ) -> list[TestCase]:
        suite = self.config.suite["name"]
        work = self.cache / "testing" / "work"
        work.mkdir(parents=True, exist_ok=True)
        xml = Path(
            tempfile.mkstemp(prefix=f"{suite}-{index}-{attempt}-", suffix=".xml", dir=work)[1]
        )
        xml.unlink()
        command = [*part.command(), *pytest_options(xml.resolve())]
        if part.markers:
            command += ["-m", part.markers]
        if names is None:
            command += [*part.paths, *(["-k", self.config.k] if self.config.k else [])]
        command += [*part.args, *(names or [])]
        env = self._env(dict(part.env), part.uv)
        if part.coverage:
            folder = (self.cache / "testing" / "coverage" / "python").resolve()
            folder.mkdir(parents=True, exist_ok=True)
            env["COVERAGE_FILE"] = str(folder / f".coverage.{suite}")
        done = self._spawn(command, None if part.uv else part.project, env, self.echo)
        cases = parse_pytest_junit(xml, part.project) if xml.is_file() else []
        xml.unlink(missing_ok=True)
        return cases + self._pytest_problem(done, cases, part.project)

    def _pytest_problem(
        self, done: Finished, cases: list[TestCase], project: str
    ) -> list[TestCase]:
        if done.timed_out:
            message = f"timed out after {self.config.suite.get('timeout')}s (suite timeout)"
            self.notes.append(message)
            return [TestCase("pytest", project, "[timeout]", FAILED, 0.0, "", message, done.tail)]
        if done.returncode == PYTEST_NO_TESTS:
            self.notes.append("pytest collected no tests (exit code 5 is not a failure here)")
            return []
        if done.returncode != 0 and not any(c.outcome == FAILED for c in cases):
            message = f"pytest exited with code {done.returncode}"
            return [TestCase("pytest", project, "[pytest]", FAILED, 0.0, "", message, done.tail)]
        return []

    def _go(self, part: GoTests, names: list[str] | None, attempt: int) -> list[TestCase]:
        events = GoEvents()
        base = ["go", "test", "-json", *part.flags()]
        if self.config.seed is not None:
            base.append(f"-shuffle={self.config.seed}")
        env = self._env(dict(part.env), uv=False)
        if names is None:
            filters = [
                *(["-run", part.run] if part.run else []),
                *(["-skip", part.skip] if part.skip else []),
            ]
            runs = [[*base, *self._cover(part, attempt), *filters, *part.packages]]
        else:
            runs = [
                [*base, *self._cover(part, attempt), "-run", run_pattern(tests), package]
                for package, tests in by_package(names).items()
            ]
        stopped = ""
        for command in runs:
            done = self._spawn(command, part.module, env, lambda line: self.echo(events.feed(line)))
            if done.timed_out:
                stopped = f"timed out after {self.config.suite.get('timeout')}s (suite timeout)"
                self.notes.append(stopped)
                break
        return events.cases(stopped)

    def _cover(self, part: GoTests, attempt: int) -> list[str]:
        if not part.coverage or attempt > 1:
            return []
        folder = (self.cache / "testing" / "coverage" / "go").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        suite = self.config.suite["name"]
        return [f"-coverprofile={folder / f'{suite}-{next(self.profiles)}.out'}"]

    def _spawn(
        self,
        command: list[str],
        cwd: str | None,
        env: dict[str, str],
        on_line: Callable[[str], object],
    ) -> Finished:
        try:
            return run_streaming(command, cwd=cwd, env=env, deadline=self.deadline, on_line=on_line)
        except OSError as err:
            message = f"cannot start {command[0]}: {err.strerror or err}"
            self.echo(message + "\n")
            return Finished(127, False, message)


def pytest_options(xml: Path) -> list[str]:
    """pytest flags for a JUnit report conjure can read back (node ids, captured output)."""
    return [
        "-p",
        "no:cacheprovider",
        f"--junitxml={xml}",
        "-o",
        "junit_family=xunit1",
        "-o",
        "junit_logging=all",
        "-o",
        "junit_log_passing_tests=False",
    ]


def by_package(names: Sequence[str]) -> dict[str, list[str]]:
    """``pkg::TestName`` names grouped by package, in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for name in names:
        package, _, test = name.rpartition("::")
        grouped.setdefault(package, []).append(test)
    return grouped


def run_pattern(tests: Sequence[str]) -> str:
    """A ``-run`` pattern matching exactly these top-level tests."""
    return "^(" + "|".join(tests) + ")$"


def _merge_attempt(first: TestCase, again: TestCase | None) -> TestCase:
    if again is None:
        return first
    attempts = first.attempts + 1
    if again.outcome == PASSED:
        return TestCase(
            **{
                **first.as_dict(),
                "outcome": FLAKY,
                "duration": again.duration,
                "attempts": attempts,
            }
        )
    return TestCase(**{**again.as_dict(), "attempts": attempts})


def selector(case: TestCase) -> str:
    """What selects a test in a plan or a re-run: the pytest node id, or ``pkg::TestName``."""
    return case.name if case.runner == "pytest" else f"{case.group}::{case.name}"


def main(argv: Sequence[str]) -> int:
    """``python -m conjure.testing run CONFIG_JSON``: SIGTERM stops the test processes too."""

    def terminate(signum: int, frame: object) -> None:
        stop_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    data = json.loads(argv[0])
    return run_suite(RunConfig(**data))
