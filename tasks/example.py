"""example: run the bundled example workspace twice (a first run, then an all-up-to-date run)."""

from __future__ import annotations

from typing import Any

EXAMPLE = "examples/polyglot"


def task_example() -> dict[str, Any]:
    """Run the bundled example twice: a first run, then an all-up-to-date second run."""
    # the example has its own uv project: do not let this venv leak into its `uv run`s
    run = f"env -u VIRTUAL_ENV doit -f {EXAMPLE}/dodo.py --output plain"
    return {
        "actions": [
            f"echo '== first run'; {run}",
            f"echo '== second run (nothing changed)'; {run}",
        ],
        "verbosity": 2,
    }
