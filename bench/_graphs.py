"""Workspaces for the benchmarks: generated dodo.py files, source files and task graphs.

Every scenario builds two identical workspaces, one per tool. They differ only in the
``DOIT_CONFIG`` line at the top of ``dodo.py``: plain doit (MD5 checker, sqlite3 backend)
or conjure (``conjure.config()``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

TOOLS = ("doit", "conjure")
"""The two tools compared, in the order they are always run and printed."""

EXEC_LOG = "executed.log"
"""File (relative to a workspace) that every no-op task action appends its name to."""

SCHED_LOG = "schedule.log"
"""File (relative to a workspace) where sleep tasks record their start and end times."""

STATE_FILES = {"doit": ".doit.sqlite", "conjure": "cache/state.sqlite"}
"""Where each tool keeps its state, relative to a workspace; its absence after a run means
the tool's configuration did not take effect (e.g. a stub ``conjure.config()``)."""

_CONFIG_LINES = {
    "doit": (
        'DOIT_CONFIG = {"backend": "sqlite3", "dep_file": ".doit.sqlite", '
        '"check_file_uptodate": "md5"}\n'
    ),
    "conjure": "import conjure\n\nDOIT_CONFIG = conjure.config()\n",
}

_NOOP_BODY = """
N_TASKS = {tasks}
DEPS = {deps}


def _mark(name):
    with open("{log}", "a") as fh:
        fh.write(name + "\\n")


def task_build():
    for i in range(N_TASKS):
        name = f"t{{i:05d}}"
        first = i * DEPS
        yield {{
            "name": name,
            "file_dep": [
                f"src/{{n // 500:03d}}/f{{n:06d}}.txt" for n in range(first, first + DEPS)
            ],
            "actions": [(_mark, [name])],
        }}
"""


@dataclass(frozen=True)
class NoopSpec:
    """Shape of a no-op graph: independent tasks, each with its own source files.

    Attributes:
        tasks: Number of tasks.
        deps: Number of file dependencies per task (files are not shared).
        min_bytes: Smallest source file size.
        max_bytes: Largest source file size.
    """

    tasks: int
    deps: int = 5
    min_bytes: int = 2048
    max_bytes: int = 5120

    @property
    def files(self) -> int:
        """Total number of source files."""
        return self.tasks * self.deps


@dataclass(frozen=True)
class SleepTask:
    """A task that sleeps for a fixed time once its dependencies are done.

    Attributes:
        name: Task name (a valid doit task name).
        seconds: How long the action sleeps.
        deps: Names of tasks that must finish first.
    """

    name: str
    seconds: float
    deps: tuple[str, ...] = field(default_factory=tuple)


def source_path(index: int) -> str:
    """Return the workspace-relative path of source file number ``index``.

    Args:
        index: Zero-based file number.

    Returns:
        A path such as ``src/003/f001500.txt`` (500 files per folder).
    """
    return f"src/{index // 500:03d}/f{index:06d}.txt"


def write_noop_workspaces(roots: dict[str, Path], spec: NoopSpec, seed: int = 1) -> None:
    """Create identical no-op workspaces (``dodo.py`` plus every source file), one per tool.

    File contents are random bytes from a seeded generator, written to every workspace as
    they are generated, so this process never holds them all (its memory stays small).

    Args:
        roots: Empty or missing folder per tool (``"doit"`` or ``"conjure"``).
        spec: The graph shape.
        seed: Random seed; the same seed gives the same bytes.
    """
    rng = random.Random(seed)
    for index in range(spec.files):
        blob = rng.randbytes(rng.randint(spec.min_bytes, spec.max_bytes))
        for root in roots.values():
            path = root / source_path(index)
            if index % 500 == 0:
                path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(blob)
    body = _NOOP_BODY.format(tasks=spec.tasks, deps=spec.deps, log=EXEC_LOG)
    for tool, root in roots.items():
        (root / "dodo.py").write_text(_CONFIG_LINES[tool] + body)


def critical_last_graph(
    independent: int = 6, chain: int = 3, seconds: float = 0.5
) -> list[SleepTask]:
    """Build a graph whose critical path (a chain) is defined after the independent work.

    Args:
        independent: Number of independent tasks, defined first.
        chain: Length of the dependency chain, defined last.
        seconds: Sleep time of every task.

    Returns:
        Tasks in definition order.
    """
    tasks = [SleepTask(f"work{i}", seconds) for i in range(independent)]
    for i in range(chain):
        deps = (f"chain{i - 1}",) if i else ()
        tasks.append(SleepTask(f"chain{i}", seconds, deps))
    return tasks


def random_dag(count: int = 40, seed: int = 7, edge_odds: float = 0.2) -> list[SleepTask]:
    """Build a seeded random DAG of sleep tasks, defined in shuffled order.

    Args:
        count: Number of tasks.
        seed: Random seed.
        edge_odds: Probability of an edge from each earlier task to each later one.

    Returns:
        Tasks in definition order (not topological: doit resolves ``task_dep`` by name).
    """
    rng = random.Random(seed)
    tasks = []
    for i in range(count):
        deps = tuple(f"r{j:02d}" for j in range(i) if rng.random() < edge_odds)
        tasks.append(SleepTask(f"r{i:02d}", round(rng.uniform(0.05, 0.4), 3), deps))
    rng.shuffle(tasks)
    return tasks


def lower_bound(tasks: list[SleepTask], workers: int) -> tuple[float, float, float]:
    """Compute the makespan lower bound ``max(critical path, total work / workers)``.

    Args:
        tasks: The graph (acyclic).
        workers: Number of parallel workers.

    Returns:
        ``(bound, critical_path, total_work)`` in seconds.
    """
    by_name = {task.name: task for task in tasks}
    finish: dict[str, float] = {}

    def finish_time(name: str) -> float:
        if name not in finish:
            task = by_name[name]
            start = max((finish_time(dep) for dep in task.deps), default=0.0)
            finish[name] = start + task.seconds
        return finish[name]

    critical = max(finish_time(task.name) for task in tasks)
    work = sum(task.seconds for task in tasks)
    return max(critical, work / workers), critical, work


_STAMP_SCRIPT = '#!/bin/sh\necho "$1 $2 $(date +%s.%N)" >> ' + SCHED_LOG + "\n"


def _sleep_task_source(task: SleepTask) -> str:
    # The time stamps come from a script so the action holds no "%": plain doit
    # expands "%" in command strings.
    action = f"./stamp {task.name} start && sleep {task.seconds} && ./stamp {task.name} end"
    return (
        f"def task_{task.name}():\n"
        f"    return {{\n"
        f'        "actions": [{action!r}],\n'
        f'        "task_dep": {list(task.deps)!r},\n'
        f"    }}\n\n\n"
    )


def write_sleep_workspace(root: Path, tool: str, tasks: list[SleepTask]) -> None:
    """Create a workspace of sleep tasks, one ``task_`` function each, in the given order.

    Tasks have no file dependencies, so both tools run all of them on every invocation.

    Args:
        root: Empty or missing folder to fill.
        tool: ``"doit"`` or ``"conjure"``.
        tasks: Tasks in definition order.
    """
    root.mkdir(parents=True, exist_ok=True)
    body = "".join(_sleep_task_source(task) for task in tasks)
    (root / "dodo.py").write_text(_CONFIG_LINES[tool] + "\n\n" + body)
    stamp = root / "stamp"
    stamp.write_text(_STAMP_SCRIPT)
    stamp.chmod(0o755)


def schedule_makespan(root: Path) -> tuple[float, int]:
    """Read a workspace's schedule log and return the makespan of the tasks in it.

    Args:
        root: The workspace.

    Returns:
        ``(last end - first start, number of finished tasks)``; ``(0.0, 0)`` when no
        task ran.
    """
    path = root / SCHED_LOG
    if not path.exists():
        return 0.0, 0
    starts: list[float] = []
    ends: list[float] = []
    for line in path.read_text().splitlines():
        _name, kind, stamp = line.split()
        (starts if kind == "start" else ends).append(float(stamp))
    if not starts or not ends:
        return 0.0, 0
    return max(ends) - min(starts), len(ends)
