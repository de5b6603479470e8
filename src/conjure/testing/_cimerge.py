"""``doit ci-merge DIR...``: the shards of a CI pipeline merged into one report.

Each DIR is a copy of one shard's ``cache/testing/`` (after ``doit test-all --shard K/N``).
The merge writes into this checkout's cache folder:

- ``testing/junit.xml``: one ``testsuites`` root, one ``testsuite`` per suite holding the
  cases of every shard;
- ``testing/summary.json``: counts per suite, failures, flaky and slowest tests, which shards
  were merged and which are missing;
- ``testing/coverage/``: the shards' Go cover profiles merged into ``go-combined.out``
  (+ ``.html``); their Python data files combined into ``python.xml`` and ``python-html/``
  when coverage.py can run here (a note otherwise);
- ``testing/durations.json``: the shards' measures folded in, so the next plan balances on
  them;
- ``report.html``: the page ``doit report`` draws, its timeline made of the shards' suite
  runs (one row per shard; the shards' own run records stay with the shards).

Which results of a DIR count: the suites its ``summary.json`` names (the suites of its run),
recorded for its own shard. Results a restored cache brought along are left out.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conjure.errors import ConfigError
from conjure.testing._coverage import (
    CoverageSpec,
    combine_coverage,
    coverage_files,
    merge_go_profiles,
)
from conjure.testing._durations import (
    durations_path,
    fold_shard_durations,
    read_durations,
    update_durations,
    write_json_atomic,
)
from conjure.testing._html import render_report
from conjure.testing._junit import merged_junit
from conjure.testing._model import FAILED, SuiteResult, TestCase
from conjure.testing._shard import ShardSpec, parse_shard
from conjure.testing._summary import summary_data, summary_table

USAGE = "give each shard's copy of cache/testing/, e.g. doit ci-merge shards/*/testing"


@dataclass
class Shard:
    """What one shard folder holds.

    Attributes:
        folder: the folder (a copy of the shard's ``cache/testing/``).
        spec: which shard it ran (``1/1`` for an unsharded run).
        suites: the suites of its run.
        results: its results of those suites.
        fresh: the suites that ran in its run (not up to date from an earlier one).
        durations: its durations record.
        notes: what was left out and why.
    """

    folder: Path
    spec: ShardSpec
    suites: list[str]
    results: list[SuiteResult]
    fresh: set[str]
    durations: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def measured(self) -> dict[str, float]:
        """Seconds per test key measured in this shard's run."""
        return {
            case.key: case.duration
            for result in self.results
            if result.suite in self.fresh
            for case in result.cases
            if not case.name.startswith("[")  # "[timeout]" and the like are not tests
        }

    def coverage_files(self) -> tuple[list[Path], list[Path]]:
        """The Go cover profiles and Python coverage data files of the suites of its run
        (``coverage/go/<suite>-N.out``, ``coverage/python/.coverage.<suite>.*``)."""
        return coverage_files(self.folder / "coverage", self.suites)


def load_shards(folders: Sequence[str]) -> list[Shard]:
    """Reads and checks every shard folder.

    Raises:
        ConfigError: no folder, a missing folder, one without results, a corrupt file, shards
            of different pipelines (different N) or the same shard twice.
    """
    if not folders:
        raise ConfigError(f"ci-merge: no shard folder given: {USAGE}")
    shards = sorted((load_shard(Path(f)) for f in folders), key=lambda s: s.spec.index)
    totals = {s.spec.total for s in shards}
    if len(totals) > 1:
        found = ", ".join(f"{s.folder} is {s.spec}" for s in shards)
        raise ConfigError(f"ci-merge: shards of different splits ({found}): merge one pipeline")
    seen: dict[int, Path] = {}
    for shard in shards:
        if shard.spec.index in seen:
            raise ConfigError(
                f"ci-merge: shard {shard.spec} given twice ({seen[shard.spec.index]} and "
                f"{shard.folder})"
            )
        seen[shard.spec.index] = shard.folder
    _check_profiles(shards)
    return shards


def load_shard(folder: Path) -> Shard:
    """Reads one shard folder (see ``load_shards``)."""
    if not folder.is_dir():
        raise ConfigError(f"ci-merge: {folder} is not a folder: {USAGE}")
    summary_file = folder / "summary.json"
    result_files = sorted((folder / "results").glob("*.json"))
    if not summary_file.is_file() and not result_files:
        raise ConfigError(
            f"ci-merge: {folder} holds no test results (no summary.json, no results/*.json): "
            f"{USAGE}"
        )
    suites, fresh = _run_suites(summary_file, result_files)
    results = [
        _read_result(folder / "results" / f"{name}.json")
        for name in suites
        if (folder / "results" / f"{name}.json").is_file()
    ]
    specs = Counter(r.shard or "1/1" for r in results)
    spec = parse_shard(specs.most_common(1)[0][0] if specs else "")
    notes = [
        f"{folder}: results of suite {r.suite} are of shard {r.shard or '1/1'}, not {spec}: "
        "left out"
        for r in results
        if (r.shard or "1/1") != str(spec)
    ]
    kept = [r for r in results if (r.shard or "1/1") == str(spec)]
    return Shard(folder, spec, suites, kept, fresh, _read_durations(folder), notes)


def _run_suites(summary_file: Path, result_files: list[Path]) -> tuple[list[str], set[str]]:
    """The suites of the shard's run, and those that ran in it (not up to date)."""
    if not summary_file.is_file():
        names = [p.stem for p in result_files]
        return names, set(names)
    data = _read_json(summary_file)
    try:
        rows = data["suites"]
        suites = [str(row["suite"]) for row in rows] + [str(n) for n in data["missing"]]
        fresh = {str(row["suite"]) for row in rows if row.get("fresh", True)}
    except (KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"ci-merge: corrupt {summary_file}: no {err}") from None
    return suites, fresh


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"ci-merge: corrupt {path}: {err}") from None


def _read_result(path: Path) -> SuiteResult:
    try:
        return SuiteResult.from_dict(_read_json(path))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ConfigError(f"ci-merge: corrupt {path}: not a suite result ({err})") from None


def _read_durations(folder: Path) -> dict[str, float]:
    path = folder / durations_path(folder).name
    try:
        return read_durations(path)
    except ConfigError:
        raise ConfigError(f"ci-merge: corrupt durations record {path}") from None


def _check_profiles(shards: Sequence[Shard]) -> None:
    profiles = [p for s in shards for p in s.coverage_files()[0]]
    try:
        merge_go_profiles(p.read_text(encoding="utf-8") for p in profiles)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"ci-merge: corrupt Go cover profile among the shards: {err}") from None


def merge_results(shards: Sequence[Shard]) -> tuple[list[SuiteResult], list[str]]:
    """One result per suite with the cases of every shard, each test once.

    Returns:
        The merged results (cases sorted by id) and notes: a test that more than one shard ran
        (their plans disagreed) is kept once, failed if it failed anywhere.
    """
    merged: dict[str, SuiteResult] = {}
    where: dict[tuple[str, str], tuple[int, str]] = {}
    notes: list[str] = []
    for shard in shards:
        for result in shard.results:
            target = merged.setdefault(
                result.suite, SuiteResult(result.suite, result.started, result.finished)
            )
            target.started = min(target.started, result.started)
            target.finished = max(target.finished, result.finished)
            target.notes += [
                n if n.startswith("shard ") else f"shard {shard.spec}: {n}" for n in result.notes
            ]
            for case in result.cases:
                _add_case(target, case, str(shard.spec), where, notes)
    for result in merged.values():
        result.shard = ",".join(str(s.spec) for s in shards)
        result.cases.sort(key=lambda c: (c.group, c.name))
    return list(merged.values()), notes


def _add_case(
    target: SuiteResult,
    case: TestCase,
    spec: str,
    where: dict[tuple[str, str], tuple[int, str]],
    notes: list[str],
) -> None:
    ident = (target.suite, case.key)
    if ident not in where:
        where[ident] = (len(target.cases), spec)
        target.cases.append(case)
        return
    index, first = where[ident]
    notes.append(f"{case.ident} ran in shards {first} and {spec} (their plans differ): kept once")
    if case.outcome == FAILED:
        target.cases[index] = case


def merge_shards(cache_dir: Path, folders: Sequence[str], coverage: Any = None) -> str:
    """Merges shard folders into ``cache_dir`` (see the module's doc); returns what to print.

    Raises:
        ConfigError: bad shard folders (see ``load_shards``).
    """
    shards = load_shards(folders)
    folder = cache_dir / "testing"
    folder.mkdir(parents=True, exist_ok=True)
    results, notes = merge_results(shards)
    notes = [n for s in shards for n in s.notes] + notes
    suites = list(dict.fromkeys(name for s in shards for name in s.suites))
    total = shards[0].spec.total
    missing = sorted(set(range(1, total + 1)) - {s.spec.index for s in shards})
    notes += [f"shard {k}/{total} is missing: its tests are not in this report" for k in missing]
    (folder / "junit.xml").write_bytes(merged_junit(results))
    summary = summary_data(results, suites, since=0.0)
    spec = coverage if isinstance(coverage, CoverageSpec) else None
    go = [p for s in shards for p in s.coverage_files()[0]]
    python = [p for s in shards for p in s.coverage_files()[1]]
    summary["coverage"] = combine_coverage(folder / "coverage", go, python, spec)
    summary.update(
        ok=bool(summary["ok"]) and not missing,
        shards=[str(s.spec) for s in shards],
        missing_shards=[f"{k}/{total}" for k in missing],
        merged_from=[str(s.folder) for s in shards],
        notes=notes,
    )
    write_json_atomic(folder / "summary.json", summary)
    durations = _fold_durations(cache_dir, shards)
    report = _write_page(cache_dir / "report.html", shards, summary, list(folders))
    return "\n".join(
        [
            f"merged {len(shards)} shard(s) of {total}: {', '.join(summary['shards'])}",
            summary_table(summary),
            *(f"note: {n}" for n in notes),
            f"JUnit XML: {folder / 'junit.xml'}",
            durations,
            f"report: {report}",
        ]
    )


def _fold_durations(cache_dir: Path, shards: Sequence[Shard]) -> str:
    """Folds the shards' measures into the record once: merging the same shards again (a
    re-run merge job) leaves it as it is."""
    path = durations_path(cache_dir)
    marker = path.with_name("ci-merge.json")
    digest = hashlib.sha256(
        json.dumps([[str(s.spec), s.measured] for s in shards], sort_keys=True).encode()
    ).hexdigest()
    try:
        done = json.loads(marker.read_text(encoding="utf-8")).get("folded") == digest
    except (OSError, ValueError, AttributeError):
        done = False
    if done and path.is_file():
        return f"durations: these shards are already in {path}"
    record = update_durations(
        path,
        lambda local: fold_shard_durations(local, [(s.durations, s.measured) for s in shards]),
    )
    write_json_atomic(marker, {"folded": digest})
    return f"durations: {len(record)} tests in {path}"


def merged_run(shards: Sequence[Shard], argv: list[str]) -> dict[str, Any]:
    """A run record for the report page made from the shards' suite runs: one timeline row
    ("worker") per shard, one bar per suite that ran in it."""
    tasks = [
        {
            "name": f"test-{r.suite}",
            "worker": s.spec.index,
            "start": r.started,
            "end": r.finished,
            "status": "ran" if r.ok else "failed",
        }
        for s in shards
        for r in s.results
        if r.suite in s.fresh
    ]
    runs = [r for s in shards for r in s.results if r.suite in s.fresh]
    start = min((r.started for r in runs), default=0.0)
    end = max((r.finished for r in runs), default=0.0)
    return {
        "run_id": f"merged from {len(shards)} shard(s)",
        "argv": ["ci-merge", *argv],
        "exit_code": 0,
        "elapsed": end - start,
        "jobs": len(shards),
        "counts": {"suite runs": len(tasks)},
        "tasks": tasks,
    }


def _write_page(
    path: Path, shards: Sequence[Shard], summary: dict[str, Any], argv: list[str]
) -> Path:
    note = (
        f"Merged from shards {', '.join(summary['shards'])}. The timeline shows each shard's "
        "suite runs (worker K is shard K, clocks of different machines); the shards' own "
        "task timelines are in their report.html."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(merged_run(shards, argv), summary, note), encoding="utf-8")
    return path
