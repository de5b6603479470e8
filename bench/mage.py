"""Side-by-side benchmark of Mage and conjure on the polyglot example (examples/polyglot).

Run from the repository root (Go and uv on PATH; Mage comes from the Go module proxy)::

    uv run python bench/mage.py            # 5 runs per scenario and tool, about 5 minutes
    uv run python bench/mage.py --quick    # 2 runs, about 2.5 minutes
    uv run python bench/mage.py --json results.json

Each tool gets its own fresh copy of the example (a git repository, so the version stamp
works) and runs ``mage -v testAll build`` (Mage finds examples/polyglot/magefiles/ itself) or
``doit test-all build`` (examples/polyglot/dodo.py). Both share the user's warm GOCACHE and
GOMODCACHE. See "Against Mage" in docs/benchmarks.md for the scenarios and what each tool
re-runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from _measure import DOIT, Run, ToolError, median_wall, run
from _report import Progress, bench_args

MAGE_VERSION = "v1.17.2"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "polyglot"
LEFT_OUT = shutil.ignore_patterns(
    "cache", "bin", ".venv", "__pycache__", ".pytest_cache", ".doit.db*"
)
EDITED = Path("internal/render/render.go")
EDIT_FROM = '"render: empty frame range"'
AFFECTED = frozenset({"build:worker", "test-go", "test-go-slow", "test-go-integration"})
"""The conjure tasks an edit of internal/render can change: only cmd/worker imports the
package, and the three ``go test`` tasks cover it; the server, go generate and the
Python tests do not depend on it."""

GROUPS = frozenset({"test-all", "build"})
SCENARIOS = ("clean", "no-op", "one-file edit")


@dataclass(frozen=True)
class Tool:
    """One benchmarked tool: how to run it in a workspace and how to read what it ran."""

    name: str
    argv: list[str]
    ran: Callable[[Path, Run], set[str]]


@dataclass
class Results:
    """Walls and re-run task sets, per scenario and tool."""

    walls: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    ran: dict[tuple[str, str], list[list[str]]] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, scenario: str, tool: str, wall: float, ran: set[str]) -> None:
        """Record one timed run."""
        self.walls.setdefault((scenario, tool), []).append(wall)
        self.ran.setdefault((scenario, tool), []).append(sorted(ran))


log = Progress()
"""Progress lines on stderr."""


def go_env(name: str) -> str:
    """One ``go env`` value."""
    done = subprocess.run(["go", "env", name], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def pin_environment(base: Path) -> None:
    """Set what every child inherits: shared Go caches, Mage's cache in ``base``, no venv.

    GOCACHE and GOMODCACHE are the user's (warm) ones, named explicitly so both tools use
    the same; the magefile binary cache starts empty so its first compile can be timed.
    """
    if shutil.which("go") is None and Path("/usr/local/go/bin/go").exists():
        os.environ["PATH"] += os.pathsep + "/usr/local/go/bin"
    for name in ("GOCACHE", "GOMODCACHE"):
        os.environ[name] = go_env(name)
    os.environ["MAGEFILE_CACHE"] = str(base / "magefile-cache")
    for name in ("VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE", "MAGEFILE_HASHFAST"):
        os.environ.pop(name, None)


def install_mage(base: Path) -> tuple[Path, float]:
    """``go install`` Mage into ``base/bin``; return the binary and the seconds it took."""
    gobin = base / "bin"
    cmd = ["env", f"GOBIN={gobin}", "go", "install", f"github.com/magefile/mage@{MAGE_VERSION}"]
    done = run(cmd, base)
    return gobin / "mage", done.wall


def make_workspace(base: Path, name: str) -> Path:
    """A fresh copy of the example as a one-commit git repository."""
    root = base / name
    shutil.copytree(EXAMPLE, root, ignore=LEFT_OUT)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "example"]):
        run([*git, *cmd], root)
    return root


def clean(root: Path) -> None:
    """Remove every output: binaries, conjure's cache, the add-on's venv."""
    for folder in ("bin", "cache", "addon/.venv", "addon/.pytest_cache"):
        shutil.rmtree(root / folder, ignore_errors=True)
    for state in root.glob(".doit.db*"):
        state.unlink()


def mage_ran(_root: Path, done: Run) -> set[str]:
    """Map the commands ``mage -v`` logged (``exec: go "test" ...``) to conjure's task names.

    The git calls of the version stamp are left out; they run once per Mage invocation.
    """
    found: set[str] = set()
    for program, rest in re.findall(r"exec: (\S+) (.*)", done.output):
        words = re.findall(r'"([^"]*)"', rest)
        name = _mage_task(program, words)
        if name:
            found.add(name)
    return found


def _mage_task(program: str, words: list[str]) -> str | None:
    if program == "uv":
        return f"test-py-{words[words.index('-m') + 1]}" if "-m" in words else "py-sync"
    if program == "gofmt":
        return "fmt-check"
    if program != "go" or not words:
        return None
    if words[0] == "build":
        return f"build:{Path(words[words.index('-o') + 1]).name}"
    if words[0] == "test":
        if "-short" in words:
            return "test-go"
        return "test-go-integration" if "integration" in words else "test-go-slow"
    return {"generate": "generate", "vet": "vet"}.get(words[0])


def conjure_ran(root: Path, _done: Run) -> set[str]:
    """The tasks conjure's newest run record (``cache/runs/*.json``) says ran."""
    records = [json.loads(p.read_text()) for p in (root / "cache" / "runs").glob("*.json")]
    latest = max(records, key=lambda record: record["started"])
    return {t["name"] for t in latest["tasks"] if t["status"] == "ran"} - GROUPS


def timed(tool: Tool, root: Path, scenario: str, out: Results) -> None:
    """Run the tool once in ``root`` and record its wall time and what it ran."""
    done = run(tool.argv, root)
    out.add(scenario, tool.name, done.wall, tool.ran(root, done))


def edit(root: Path, tag: str) -> bytes:
    """Change a string constant in internal/render; return the file's original bytes.

    ``tag`` is new on every call, so neither tool finds the edited package in Go's caches.
    """
    path = root / EDITED
    original = path.read_bytes()
    text = original.decode()
    if EDIT_FROM not in text:
        raise ToolError(f"{EDITED} no longer contains {EDIT_FROM}")
    path.write_text(text.replace(EDIT_FROM, EDIT_FROM[:-1] + f' ({tag})"'))
    return original


ATTEMPTS = 3
"""Tries per timed run: the add-on's timing test (``performance``: under 2 s) can fail on a
loaded machine; a failed try is listed in the output and the run is repeated from scratch."""


def retrying(out: Results, label: str, body: Callable[[], None]) -> None:
    """Call ``body`` until it succeeds, at most ``ATTEMPTS`` times, noting each failure.

    Raises:
        ToolError: the last failure, when every try failed.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            body()
            return
        except ToolError as err:
            out.failures.append(f"{label}: {err}")
            log(f"{label}: try {attempt} failed: {err}")
            if attempt == ATTEMPTS:
                raise


def clean_run(tool: Tool, root: Path, out: Results) -> None:
    """Remove the outputs, then time one run."""
    clean(root)
    timed(tool, root, "clean", out)


def edit_run(tool: Tool, root: Path, label: str, out: Results) -> None:
    """Edit internal/render, time one run, restore the file (the caller re-runs the tool)."""
    original = edit(root, f"{label} {time.time_ns()}")
    try:
        timed(tool, root, "one-file edit", out)
    finally:
        (root / EDITED).write_bytes(original)


def measure(tools: list[tuple[Tool, Path]], hashfast: Tool, reps: int, out: Results) -> None:
    """The three scenarios, tools alternating within each repetition.

    The no-op scenario also times Mage with MAGEFILE_HASHFAST=1 (its cached magefile
    binary is reused instead of re-linked), in Mage's workspace.
    """
    for i in range(reps):
        log(f"clean build+test, run {i + 1}/{reps}")
        for tool, root in tools:
            retrying(out, f"clean / {tool.name}", partial(clean_run, tool, root, out))
    noop = [*tools, (hashfast, tools[0][1])]
    for i in range(reps):
        log(f"no-op, run {i + 1}/{reps}")
        for tool, root in noop:
            retrying(out, f"no-op / {tool.name}", partial(timed, tool, root, "no-op", out))
    for i in range(reps):
        log(f"one-file edit, run {i + 1}/{reps}")
        for tool, root in tools:
            body = partial(edit_run, tool, root, f"edit {tool.name} {i}", out)
            retrying(out, f"one-file edit / {tool.name}", body)
            # back to up to date, untimed
            retrying(out, f"one-file edit / {tool.name} (settle)", partial(run, tool.argv, root))


def first_calls(mage: Tool, root: Path, out: Results) -> None:
    """Time Mage's first call (magefile compile) and its per-call overhead, untabled.

    ``mage generate`` does no work here (status_string.go is newer than its sources): the
    first call compiles the magefile into MAGEFILE_CACHE, the second one re-links it (Mage
    rebuilds on every call while GOCACHE exists), the third one with MAGEFILE_HASHFAST=1
    runs the cached binary.
    """
    cmd = [mage.argv[0], "generate"]
    out.extra["mage first call (compile), s"] = run(cmd, root).wall
    out.extra["mage second call, s"] = median_wall([run(cmd, root) for _ in range(3)])
    hashfast = ["env", "MAGEFILE_HASHFAST=1", *cmd]
    out.extra["mage call, MAGEFILE_HASHFAST=1, s"] = median_wall(
        [run(hashfast, root) for _ in range(3)]
    )


def _cell(out: Results, scenario: str, tool: str) -> str:
    walls = out.walls.get((scenario, tool))
    return f"{statistics.median(walls):.2f}" if walls else "n/a"


def _reran(out: Results, scenario: str, tool: str) -> str:
    """The task set of the runs, or each distinct set with its count when runs differ."""
    sets = [", ".join(s) or "nothing" for s in out.ran.get((scenario, tool), [])]
    distinct = sorted(set(sets), key=sets.index)
    if len(distinct) == 1:
        return distinct[0]
    return "; ".join(f"{sets.count(d)}x: {d}" for d in distinct)


def table(out: Results) -> str:
    """The timing table, then what each tool re-ran per scenario."""
    lines = [f"{'scenario':<28}{'mage s':>9}{'conjure s':>11}{'conjure/mage':>14}"]
    lines.append("-" * len(lines[0]))
    for scenario in SCENARIOS:
        mage, ours = _cell(out, scenario, "mage"), _cell(out, scenario, "conjure")
        share = f"{float(ours) / float(mage):.3f}" if "n/a" not in (mage, ours) else "n/a"
        lines.append(f"{scenario:<28}{mage:>9}{ours:>11}{share:>14}")
    hashfast = _cell(out, "no-op", "mage-hashfast")
    lines.append(f"{'no-op, MAGEFILE_HASHFAST=1':<28}{hashfast:>9}{'':>11}{'':>14}")
    lines.append("")
    for scenario in SCENARIOS:
        for tool in ("mage", "conjure"):
            lines.append(f"{scenario} / {tool} re-ran: {_reran(out, scenario, tool)}")
    return "\n".join(lines)


def goals(out: Results) -> list[tuple[str, bool]]:
    """The two goals of issue 4 and whether the figures meet them."""

    def faster(scenario: str) -> bool:
        mage = out.walls.get((scenario, "mage"))
        ours = out.walls.get((scenario, "conjure"))
        return bool(mage and ours) and statistics.median(ours) < statistics.median(mage)

    edits = out.ran.get(("one-file edit", "conjure"), [])
    noops = out.ran.get(("no-op", "conjure"), [])
    only_affected = bool(edits) and all(set(s) == AFFECTED for s in edits)
    only_affected = only_affected and bool(noops) and not any(noops)
    return [
        (
            "conjure's no-op and one-file-edit runs are faster than Mage's",
            faster("no-op") and faster("one-file edit"),
        ),
        ("conjure re-runs only affected tasks", only_affected),
    ]


def setup(base: Path, out: Results) -> tuple[list[tuple[Tool, Path]], Tool]:
    """Install Mage, make both workspaces, time Mage's first calls, prime both tools.

    The priming run (untimed) creates each workspace's venv and fills Go's build and test
    caches for that folder, so the timed runs start from a warm Go cache.
    """
    log(f"go install github.com/magefile/mage@{MAGE_VERSION}")
    mage_bin, seconds = install_mage(base)
    out.extra["go install mage, s"] = seconds
    mage = Tool("mage", [str(mage_bin), "-v", "testAll", "build"], mage_ran)
    hashfast = Tool("mage-hashfast", ["env", "MAGEFILE_HASHFAST=1", *mage.argv], mage_ran)
    conjure = Tool("conjure", [DOIT, "test-all", "build"], conjure_ran)
    tools = [(mage, make_workspace(base, "mage")), (conjure, make_workspace(base, "conjure"))]
    log("mage: first call (magefile compile) and per-call overhead")
    first_calls(mage, tools[0][1], out)
    for tool, root in tools:
        log(f"{tool.name}: priming run (untimed)")
        retrying(out, f"priming / {tool.name}", partial(run, tool.argv, root))
    return tools, hashfast


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and the goals; 0 unless a tool failed."""
    args = bench_args(__doc__, argv, "2 runs per scenario, not 5", keep="keep the workspaces")
    reps = 2 if args.quick else 5
    base = Path(tempfile.mkdtemp(prefix="conjure-bench-mage-"))
    out = Results()
    out.extra["load average at start"] = os.getloadavg()[0]
    try:
        pin_environment(base)
        tools, hashfast = setup(base, out)
        measure(tools, hashfast, reps, out)
    except ToolError as err:
        print(f"benchmark stopped: {err}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            log(f"workspaces kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    out.extra["load average at end"] = os.getloadavg()[0]
    print(
        f"{os.cpu_count()} CPUs; {reps} runs per scenario and tool, medians; {go_env('GOVERSION')}"
    )
    print(table(out))
    print()
    for name, value in out.extra.items():
        print(f"{name}: {value:.2f}")
    for failure in out.failures:
        print(f"failed try (repeated): {failure}")
    verdicts = goals(out)
    for goal, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {goal}")
    if args.json:
        raw = {f"{s}/{t}": {"walls": w, "ran": out.ran[(s, t)]} for (s, t), w in out.walls.items()}
        data = {"reps": reps, "runs": raw, "extra": out.extra, "goals": dict(verdicts)}
        data["failed_tries"] = out.failures
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
