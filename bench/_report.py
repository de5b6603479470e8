"""Result rows, the final table and the JSON dump."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

PASS, FAIL, ERROR, INFO = "pass", "FAIL", "ERROR", "-"


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    Attributes:
        scenario: What was measured, with its unit.
        doit: Plain doit's figure, formatted (or an error text).
        conjure: conjure's figure, formatted (or an error text).
        ratio: conjure / doit, formatted, or empty.
        goal: The goal in words, or empty for informational rows.
        status: ``pass``, ``FAIL``, ``ERROR`` or ``-`` (no goal).
    """

    scenario: str
    doit: str
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


def format_table(rows: list[Row]) -> str:
    """Render rows as a fixed-width text table with a header line.

    Args:
        rows: The rows, in order.

    Returns:
        The table, lines joined with newlines, no trailing newline.
    """
    header = ("scenario", "doit", "conjure", "ratio", "goal", "status")
    cells = [header] + [(r.scenario, r.doit, r.conjure, r.ratio, r.goal, r.status) for r in rows]
    widths = [min(max(len(c[i]) for c in cells), 48) for i in range(len(header))]
    lines = [
        "  ".join(c[i][:48].ljust(widths[i]) for i in range(len(header))).rstrip() for c in cells
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
