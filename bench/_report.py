"""What every benchmark shares: result rows, the table, the JSON dump, the command line and
progress lines."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PASS, FAIL, ERROR, INFO = "pass", "FAIL", "ERROR", "-"


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    Attributes:
        scenario: What was measured, with its unit.
        baseline: The baseline's figure (plain doit, ``cp -r``, a no-op...), formatted (or an
            error text, or empty).
        conjure: conjure's figure, formatted (or an error text).
        ratio: conjure / baseline, formatted, or empty.
        goal: The goal in words, or empty for informational rows.
        status: ``pass``, ``FAIL``, ``ERROR`` or ``-`` (no goal).
    """

    scenario: str
    baseline: str
    conjure: str
    ratio: str = ""
    goal: str = ""
    status: str = INFO


def verdict(ok: bool) -> str:
    """Map a goal check to a status."""
    return PASS if ok else FAIL


def fmt(value: float | None, digits: int = 3) -> str:
    """Format a number for the table; ``None`` (not measured) becomes ``n/a``."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratio(top: float | None, bottom: float | None) -> float | None:
    """Return ``top / bottom``, or ``None`` when either is missing or ``bottom`` is not positive."""
    if top is None or bottom is None or bottom <= 0:
        return None
    return top / bottom


@dataclass
class Results:
    """Everything a benchmark run produced.

    Attributes:
        rows: Table rows, in order.
        raw: Unformatted figures keyed by scenario label, for ``--json``.
    """

    rows: list[Row] = field(default_factory=list)
    raw: dict[str, object] = field(default_factory=dict)


def format_table(rows: list[Row], baseline: str = "doit", width: int = 48) -> str:
    """Render rows as a fixed-width text table with a header line.

    Args:
        rows: The rows, in order.
        baseline: The baseline column's heading.
        width: The widest a column gets (longer cells are cut).

    Returns:
        The table, lines joined with newlines, no trailing newline.
    """
    header = ("scenario", baseline, "conjure", "ratio", "goal", "status")
    cells = [header] + [
        (r.scenario, r.baseline, r.conjure, r.ratio, r.goal, r.status) for r in rows
    ]
    widths = [min(max(len(c[i]) for c in cells), width) for i in range(len(header))]
    lines = [
        "  ".join(c[i][:width].ljust(widths[i]) for i in range(len(header))).rstrip() for c in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """Describe the machine the figures come from."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def write_json(path: Path, rows: list[Row], raw: dict[str, object]) -> None:
    """Write rows, raw measurements and the machine description as JSON.

    Args:
        path: Output file (overwritten).
        rows: The table rows.
        raw: Unformatted figures, keyed by scenario.
    """
    data = {"machine": machine(), "rows": [asdict(r) for r in rows], "raw": raw}
    path.write_text(json.dumps(data, indent=2) + "\n")


def bench_args(
    doc: str | None, argv: list[str] | None, quick: str, keep: str = "keep the generated workspaces"
) -> argparse.Namespace:
    """The command line every benchmark takes: ``--quick``, ``--json FILE``, ``--keep``.

    Args:
        doc: The benchmark module's docstring (its first line describes the command).
        argv: The arguments (``None``: ``sys.argv``).
        quick: What ``--quick`` does, for ``--help``.
        keep: What ``--keep`` keeps, for ``--help``.
    """
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    parser.add_argument("--keep", action="store_true", help=keep)
    return parser.parse_args(argv)


class Progress:
    """Progress lines on stderr, stamped with the time since the run started."""

    def __init__(self) -> None:
        """Start the clock."""
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        """Print one progress line."""
        print(
            f"[{time.perf_counter() - self.start:6.1f}s] {message}",
            file=sys.stderr,
            flush=True,
        )
