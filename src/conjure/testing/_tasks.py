"""Suites as doit tasks: ``test-<suite>``, ``test-all``, ``test-plan``, ``report``, ``ci-merge``.

``test_tasks(suites)`` returns an object doit loads as a task creator. Its options
(``--suite``, ``--shard``, ``--reruns``...) reach the creator itself (doit's
``@task_params`` mechanism), so bad values stop the run before anything starts (exit 2) and
the chosen values are part of each task's definition (a different shard is a different key).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conjure.errors import ConfigError
from conjure.testing._shard import ShardSpec, parse_shard
from conjure.testing._suite import GoTests, PytestTests, Suite

if TYPE_CHECKING:
    from conjure.testing._coverage import CoverageSpec

PARAMS: list[dict[str, Any]] = [
    {
        "name": "suite",
        "long": "suite",
        "type": str,
        "default": "",
        "help": "comma-separated suites to run (test-all only), e.g. unit,api",
    },
    {
        "name": "skip_slow",
        "long": "skip-slow",
        "type": bool,
        "default": False,
        "help": "leave out suites marked slow",
    },
    {"name": "k", "short": "k", "type": str, "default": "", "help": "pytest -k expression"},
    {
        "name": "shard",
        "long": "shard",
        "type": str,
        "default": "",
        "help": "run the K-th of N shards, e.g. 1/4 (split by recorded durations)",
    },
    {
        "name": "chunks",
        "long": "chunks",
        "type": str,
        "default": "",
        "help": "run each suite's tests of this shard as M processes, CPU-count at a time",
    },
    {
        "name": "reruns",
        "long": "reruns",
        "type": str,
        "default": "",
        "help": "re-run failed tests up to N times; fail-then-pass is reported flaky",
    },
    {
        "name": "shuffle",
        "long": "shuffle",
        "type": bool,
        "default": False,
        "help": "run the tests in a shuffled, reproducible order",
    },
    {
        "name": "seed",
        "long": "seed",
        "type": str,
        "default": "",
        "help": "seed for --shuffle (a random one is chosen and shown otherwise)",
    },
    {
        "name": "filters_file",
        "long": "filters-file",
        "type": str,
        "default": "",
        "help": "run only the tests listed in FILE (one id per line)",
    },
    {
        "name": "dry_run",
        "long": "dry-run",
        "type": bool,
        "default": False,
        "help": "print the plan (tests and predicted time per shard); run no test",
    },
]


@dataclass(frozen=True)
class Options:
    """Validated test-run options."""

    suites: tuple[str, ...] = ()
    skip_slow: bool = False
    k: str = ""
    shard: ShardSpec = field(default_factory=ShardSpec)
    chunks: int = 0
    reruns: int = 0
    seed: int | None = None
    filters: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def needs_plan(self) -> bool:
        """Tests must be collected and split before running."""
        return (
            self.shard.total > 1
            or self.chunks > 0
            or self.seed is not None
            or bool(self.filters)
            or self.dry_run
        )


def parse_options(values: dict[str, Any], known: Sequence[str]) -> Options:
    """Checks the command-line values of a test run.

    Raises:
        ConfigError: an invalid shard, number, suite name or filters file (one line).
    """
    suites = tuple(s.strip() for s in str(values.get("suite") or "").split(",") if s.strip())
    for name in suites:
        if name not in known:
            raise ConfigError(f"unknown suite {name!r}; suites: {', '.join(known)}")
    shard = parse_shard(str(values.get("shard") or ""))
    chunks = _count(values, "chunks")
    seed = _count(values, "seed") if values.get("seed") else None
    if values.get("shuffle") and seed is None:
        seed = int.from_bytes(os.urandom(2), "big")
    return Options(
        suites=suites,
        skip_slow=bool(values.get("skip_slow")),
        k=str(values.get("k") or ""),
        shard=shard,
        chunks=chunks,
        reruns=_count(values, "reruns"),
        seed=seed,
        filters=_read_filters(str(values.get("filters_file") or "")),
        dry_run=bool(values.get("dry_run")),
    )


def _count(values: dict[str, Any], name: str) -> int:
    text = str(values.get(name) or "0").strip()
    if not text.isdigit():
        raise ConfigError(f"invalid --{name.replace('_', '-')} {text!r}: expected a whole number")
    return int(text)


def _read_filters(path: str) -> tuple[str, ...]:
    if not path:
        return ()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read filters file {path}: {err.strerror or err}") from None
    lines = tuple(line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#")) or ("#none",)


class TestTasks:
    """The task creator ``test_tasks`` returns; assign it to a module-level name in dodo.py.

    Attributes:
        suites: the suites by name.
        coverage: how coverage is combined after ``test-all`` and by ``ci-merge`` (None: not).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        suites: Sequence[Suite],
        cache_dir: str | None,
        report: str | None,
        coverage: CoverageSpec | None,
        python: str,
    ) -> None:
        names = [s.name for s in suites]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"suite names used twice: {', '.join(duplicates)}")
        self.suites = {s.name: s for s in suites}
        self._cache_dir = cache_dir
        self._resolved_cache_dir: str | None = None
        self.report = report
        self.coverage = coverage if coverage is not None else derived_coverage(suites)
        self.python = python
        self.create_doit_tasks = self._creator()

    @property
    def cache_dir(self) -> str:
        """The cache folder: ``test_tasks(cache_dir=...)``, else the engine's ``cache_dir``
        setting (pyproject.toml < ``conjure.config()`` < ``CONJURE_CACHE_DIR``) as it was
        when doit created the tasks."""
        if self._cache_dir:
            return self._cache_dir
        return self._resolved_cache_dir or engine_cache_dir()

    def task_names(self) -> list[str]:
        """The names of the tasks that take the test options."""
        return ["test-all", *(f"test-{name}" for name in self.suites)]

    def _creator(self) -> Callable[..., Iterator[dict[str, Any]]]:
        def create(**values: Any) -> Iterator[dict[str, Any]]:
            """Run test suites; options: --suite, --shard K/N, --reruns N, -k EXPR..."""
            yield from self.generate(values, invoked)

        invoked = _invoked_name(self.task_names())
        create.basename = invoked  # type: ignore[attr-defined]
        create._task_creator_params = PARAMS  # type: ignore[attr-defined]
        return create

    def generate(self, values: dict[str, Any], invoked: str) -> Iterator[dict[str, Any]]:
        """The task dicts for one invocation (``test-all`` or ``test-<suite>``)."""
        since = time.time()
        # resolved now, while doit loads the dodo.py: its conjure.config() values are known
        self._resolved_cache_dir = self._cache_dir or engine_cache_dir()
        options = parse_options(values, list(self.suites))
        merging = _merge_args()
        if merging is not None:  # bad folders: one line and exit 2 before anything runs
            from conjure.testing._cimerge import load_shards

            load_shards(merging)
        selected = self._selected(options, invoked)
        if options.needs_plan and selected:
            _check_durations(Path(self.cache_dir))
            yield self._plan_task(selected, options)
        for suite in self.suites.values():
            yield from self._suite_tasks(suite, options if suite in selected else Options())
        yield self._all_task(selected, options, since)
        if self.report:
            yield self._report_task()
        yield self._merge_task()

    def _selected(self, options: Options, invoked: str) -> list[Suite]:
        if invoked != "test-all":
            return [self.suites[invoked.removeprefix("test-")]]
        chosen = [self.suites[n] for n in options.suites] or list(self.suites.values())
        return [s for s in chosen if not (options.skip_slow and s.slow)]

    def _command(self, step: str, name: str, config: dict[str, Any]) -> list[str]:
        text = json.dumps(config, sort_keys=True)
        return [self.python, "-m", "conjure.testing", step, name, text]

    def _plan_task(self, selected: list[Suite], options: Options) -> dict[str, Any]:
        from conjure.testing._plan import plan_dir

        config = {
            "suites": [s.as_dict() for s in selected],
            "cache_dir": self.cache_dir,
            "k": options.k,
            "shard": str(options.shard),
            "chunks": options.chunks,
            "seed": options.seed,
            "filters": list(options.filters),
        }
        folder = plan_dir(Path(self.cache_dir))
        return {
            "basename": "test-plan",
            "doc": "Collect the selected tests and split them into shards by recorded durations.",
            "actions": [self._command("plan", "tests", config)],
            "targets": [str(folder.parent / "plan.json")]
            + [str(folder / f"{s.name}.json") for s in selected],
            "task_dep": sorted({d for s in selected for d in s.task_dep}),
        }

    def _suite_tasks(self, suite: Suite, options: Options) -> Iterator[dict[str, Any]]:
        """``test-<suite>`` and, for a suite with setup or teardown, the tasks around it.

        With a teardown, the tests are ``test-<suite>-run``, the teardown is a finally task
        after them (it runs when they fail too) and ``test-<suite>`` the group of both, so that
        ``doit test-<suite>`` tears down as ``doit test-all`` does.
        """
        setup = []
        if suite.setup:
            setup = [f"test-{suite.name}-setup"]
            yield {
                "basename": setup[0],
                "doc": f"Set up for test suite {suite.name}.",
                "actions": [] if options.dry_run else list(suite.setup),
            }
        yield self._run_task(suite, options, setup)
        if suite.teardown:
            yield {
                "basename": f"test-{suite.name}-teardown",
                "doc": f"Tear down after test suite {suite.name}, also when its tests fail.",
                "actions": [] if options.dry_run else list(suite.teardown),
                "task_dep": [run_task_name(suite)],
                "finally": True,
            }
            yield {
                "basename": f"test-{suite.name}",
                "doc": suite.doc,
                "actions": None,
                "task_dep": [f"test-{suite.name}-teardown"],
            }

    def _run_task(self, suite: Suite, options: Options, setup: list[str]) -> dict[str, Any]:
        from conjure.testing._plan import plan_dir
        from conjure.testing._runner import junit_path, results_path

        cache = Path(self.cache_dir)
        plan = str(plan_dir(cache) / f"{suite.name}.json") if options.needs_plan else ""
        config = {
            "suite": suite.as_dict(),
            "cache_dir": self.cache_dir,
            "k": options.k,
            "reruns": options.reruns,
            "plan": plan,
            "shard": str(options.shard) if options.needs_plan else "",
            "seed": options.seed,
        }
        inputs = sorted({f for t in suite.tests for f in t.input_files(self.cache_dir)})
        task: dict[str, Any] = {
            "basename": run_task_name(suite),
            "doc": suite.doc if not suite.teardown else f"Run the tests of suite {suite.name}.",
            "actions": [] if options.dry_run else [self._command("run", suite.name, config)],
            "file_dep": sorted({*inputs, *suite.file_dep, *([plan] if plan else [])}),
            "targets": []
            if options.dry_run
            else [str(results_path(cache, suite.name)), str(junit_path(cache, suite.name))],
            "task_dep": list(suite.task_dep),
            "setup": setup,
        }
        if suite.timeout is not None:
            task["timeout"] = suite.timeout + 30  # a backstop: the runner stops at the timeout
        return task

    def _all_task(self, selected: list[Suite], options: Options, since: float) -> dict[str, Any]:
        """``test-all``: a finally task after every selected suite's tasks, which prints the
        summary whether they passed, failed or were skipped, and fails when any did not
        succeed."""
        if options.dry_run:
            return {
                "basename": "test-all",
                "doc": "Run every test suite.",
                "actions": None,
                "task_dep": ["test-plan"],
            }
        names = [s.name for s in selected]

        def summarize(upstream: dict[str, str]) -> bool:
            from conjure.engine.scheduler import SUCCESS

            unsuccessful = {t: s for t, s in upstream.items() if s not in SUCCESS}
            return self._print_summary(names, since, unsuccessful)

        deps = [run_task_name(s) for s in selected]
        deps += [f"test-{s.name}-teardown" for s in selected if s.teardown]
        return {
            "basename": "test-all",
            "doc": "Run every test suite (options: --suite, --shard K/N, --reruns N, -k ...).",
            "actions": [summarize],
            "task_dep": deps,
            "finally": True,
        }

    def _print_summary(self, names: list[str], since: float, tasks: Mapping[str, str]) -> bool:
        from conjure.testing._summary import summarize, summary_table

        summary = summarize(Path(self.cache_dir), names, since, self.coverage, tasks)
        sys.stdout.write(summary_table(summary) + "\n")
        sys.stdout.write(f"JUnit XML: {Path(self.cache_dir) / 'testing' / 'junit.xml'}\n")
        return bool(summary["ok"])

    def _report_task(self) -> dict[str, Any]:
        def write_report() -> bool:
            from conjure.testing._html import write_report as write

            path = write(Path(self.cache_dir))
            sys.stdout.write(f"report: {path}\n")
            return True

        return {
            "basename": self.report,
            "doc": "Write an HTML page for the last run (cache/report.html).",
            "actions": [write_report],
        }

    def _merge_task(self) -> dict[str, Any]:
        def merge(dirs: list[str]) -> bool:
            from conjure.testing._cimerge import merge_shards

            sys.stdout.write(merge_shards(Path(self.cache_dir), dirs, self.coverage) + "\n")
            return True

        return {
            "basename": "ci-merge",
            "doc": "Merge CI shards' copies of cache/testing/ (JUnit, summary, coverage, "
            "durations, report.html): doit ci-merge DIR...",
            "actions": [merge],
            "pos_arg": "dirs",
            "verbosity": 2,
        }


_NOT_RUN = ("help", "list", "info", "clean", "forget", "ignore", "dumpdb", "reset-dep", "graph")
"""doit commands that name tasks without running them."""


def _merge_args() -> list[str] | None:
    """The shard folders when the command line runs ``ci-merge``, else None."""
    args = sys.argv[1:]
    if "ci-merge" not in args or (args and args[0] in (*_NOT_RUN, "explain", "cache")):
        return None
    return args[args.index("ci-merge") + 1 :]


def run_task_name(suite: Suite) -> str:
    """The task that runs a suite's tests: ``test-<suite>``, or ``test-<suite>-run`` when the
    suite has a teardown (``test-<suite>`` then also tears down)."""
    return f"test-{suite.name}-run" if suite.teardown else f"test-{suite.name}"


def _invoked_name(names: Sequence[str]) -> str:
    """Which test task the command line names (its options go to the creator)."""
    for arg in sys.argv[1:]:
        if arg in names:
            return arg
    return "test-all"


def _check_durations(cache: Path) -> None:
    from conjure.testing._durations import durations_path, read_durations

    read_durations(durations_path(cache))


def test_tasks(
    suites: Sequence[Suite],
    *,
    cache_dir: str | None = None,
    report: str | None = "report",
    coverage: CoverageSpec | None = None,
    python: str | None = None,
) -> TestTasks:
    """Task creator for test suites; in dodo.py: ``tests = test_tasks([Suite(...), ...])``.

    Args:
        suites: the suites.
        cache_dir: the cache folder; by default the engine's ``cache_dir`` setting
            (``[tool.conjure]``, ``conjure.config(cache_dir=...)``, ``CONJURE_CACHE_DIR``),
            read when doit creates the tasks, so ``DOIT_CONFIG`` may come anywhere in dodo.py.
        report: the name of the HTML report task, or None for none.
        coverage: how to combine coverage; by default from the parts with ``coverage=True``
            (the first such Go module and Python project).
        python: the interpreter that runs the suite runner (this one by default).
    """
    return TestTasks(suites, cache_dir, report, coverage, python or sys.executable)


test_tasks.__test__ = False  # type: ignore[attr-defined]


def derived_coverage(suites: Sequence[Suite]) -> CoverageSpec | None:
    """A ``CoverageSpec`` for the parts that have ``coverage=True`` (None when none has)."""
    go = [t for s in suites for t in s.tests if isinstance(t, GoTests) and t.coverage]
    python = [t for s in suites for t in s.tests if isinstance(t, PytestTests) and t.coverage]
    if not go and not python:
        return None
    from conjure.testing._coverage import CoverageSpec

    return CoverageSpec(
        go_module=go[0].module if go else None,
        python_project=python[0].project if python else None,
        python_uv=python[0].uv if python else True,
    )


def engine_cache_dir() -> str:
    """The ``cache_dir`` the engine resolves: pyproject.toml < dodo.py < environment.

    Raises:
        ConfigError: an invalid setting (the run would stop on it too).
    """
    from conjure.settings import project_settings

    return project_settings().cache_dir
