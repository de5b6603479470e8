"""A whole test run, summarized: the merged JUnit XML, the JSON summary and the table.

It reads the suites' results (``cache/testing/results/<suite>.json``), so it works the same
whether a suite ran now or was up to date (its results are from its last run).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conjure.testing._coverage import CoverageSpec, combine_coverage, coverage_files
from conjure.testing._durations import write_json_atomic
from conjure.testing._junit import merged_junit
from conjure.testing._model import FAILED, FLAKY, OUTCOMES, SuiteResult
from conjure.testing._runner import results_path

SLOWEST = 10


def load_results(cache_dir: Path, suites: Sequence[str]) -> list[SuiteResult]:
    """The last results of each suite that has any."""
    results = []
    for suite in suites:
        path = results_path(cache_dir, suite)
        if path.is_file():
            results.append(SuiteResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
    return results


def summarize(
    cache_dir: Path,
    suites: Sequence[str],
    since: float,
    coverage: CoverageSpec | None = None,
    tasks: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Writes ``cache/testing/junit.xml`` and ``summary.json``; returns the summary.

    Args:
        cache_dir: the cache folder.
        suites: the suites of this run.
        since: when this run started; older results are marked as from an earlier run.
        coverage: how to combine coverage (None: not at all).
        tasks: the test tasks of this run that did not succeed, with their status
            (``failed``, ``skipped``...); any makes the summary not ok.
    """
    results = load_results(cache_dir, suites)
    folder = cache_dir / "testing"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "junit.xml").write_bytes(merged_junit(results))
    summary = summary_data(results, suites, since)
    summary["tasks"] = dict(tasks or {})
    summary["ok"] = bool(summary["ok"]) and not tasks
    summary["coverage"] = {}
    if coverage is not None:
        cover = folder / "coverage"
        summary["coverage"] = combine_coverage(cover, *coverage_files(cover, suites), coverage)
    write_json_atomic(folder / "summary.json", summary)
    return summary


def summary_data(
    results: Sequence[SuiteResult], suites: Sequence[str], since: float
) -> dict[str, Any]:
    """The JSON summary: per suite counts and duration, failures, flaky and slowest tests."""
    rows = []
    seen = {r.suite for r in results}
    for result in results:
        row: dict[str, Any] = {o: result.count(o) for o in OUTCOMES}
        row.update(
            suite=result.suite,
            duration=result.duration,
            fresh=result.finished >= since,
            shard=result.shard,
            notes=result.notes,
        )
        rows.append(row)
    cases = [(r.suite, c) for r in results for c in r.cases]
    totals = {o: sum(row[o] for row in rows) for o in OUTCOMES}
    return {
        "suites": rows,
        "missing": [s for s in suites if s not in seen],
        "totals": totals,
        "ok": totals[FAILED] == 0 and not [s for s in suites if s not in seen],
        "failures": [_case(s, c) for s, c in cases if c.outcome == FAILED],
        "flaky": [_case(s, c) for s, c in cases if c.outcome == FLAKY],
        "slowest": [
            _case(s, c, output=False)
            for s, c in sorted(cases, key=lambda x: -x[1].duration)[:SLOWEST]
        ],
    }


def _case(suite: str, case: Any, output: bool = True) -> dict[str, Any]:
    data = {
        "suite": suite,
        "id": case.ident,
        "outcome": case.outcome,
        "duration": case.duration,
        "message": case.message,
        "attempts": case.attempts,
    }
    if output:
        data["output"] = case.output
    return data


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as aligned plain text: one row per suite, then failures and flaky tests."""
    header = f"{'suite':<20} {'passed':>7} {'failed':>7} {'skipped':>8} {'flaky':>6} {'time':>9}"
    lines = [header, "-" * len(header)]
    for row in summary["suites"]:
        when = "" if row["fresh"] else "  (earlier run)"
        lines.append(
            f"{row['suite']:<20} {row['passed']:>7} {row['failed']:>7} {row['skipped']:>8} "
            f"{row['flaky']:>6} {row['duration']:>8.1f}s{when}"
        )
    t = summary["totals"]
    lines.append("-" * len(header))
    lines.append(
        f"{'total':<20} {t['passed']:>7} {t['failed']:>7} {t['skipped']:>8} {t['flaky']:>6}"
    )
    for name in summary["missing"]:
        lines.append(f"suite {name}: no results (it did not run)")
    for name, status in (summary.get("tasks") or {}).items():
        lines.append(f"task {name} {status} in this run")
    for case in summary["failures"]:
        lines.append(f"FAILED {case['suite']}: {case['id']}  {case['message']}".rstrip())
    for case in summary["flaky"]:
        lines.append(f"FLAKY  {case['suite']}: {case['id']} (passed on attempt {case['attempts']})")
    return "\n".join(lines + coverage_lines(summary.get("coverage") or {}))


def coverage_lines(cov: Mapping[str, Any]) -> list[str]:
    """The coverage part of the summary table: a line per language, then notes."""
    lines = []
    if "go_percent" in cov:
        lines.append(f"Go coverage: {cov['go_percent']}% of statements ({cov['go_profile']})")
    if cov.get("python_percent") is not None:
        lines.append(
            f"Python coverage: {cov['python_percent']:g}% ({cov['python_xml']}; "
            f"HTML: {cov['python_html']})"
        )
    return lines + [f"note: {note}" for note in cov.get("notes", [])]
