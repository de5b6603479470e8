"""A task's status in a run, as events, reporters and run records spell it.

A module of its own, importing nothing: the no-op path reports a run without loading the
event classes.
"""

RAN = "ran"
CACHED = "cached"
UP_TO_DATE = "up-to-date"
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"
WOULD_RUN = "would-run"

SUMMARY_ORDER = (RAN, CACHED, UP_TO_DATE, WOULD_RUN, FAILED, SKIPPED, CANCELLED)
"""The order of the closing counts line."""

_WORDS = {
    RAN: "ran",
    CACHED: "cached",
    UP_TO_DATE: "up to date",
    WOULD_RUN: "would run",
    FAILED: "failed",
    SKIPPED: "skipped",
    CANCELLED: "stopped",
}


def counts_text(counts: dict[str, int], elapsed: float) -> str:
    """``3 ran, 12 up to date, 1 failed, 2 skipped in 1.23s`` (ran and failed always shown).

    Args:
        counts: tasks per status (visible tasks only).
        elapsed: the run's wall time in seconds.
    """
    parts = [
        f"{counts.get(s, 0)} {_WORDS[s]}"
        for s in SUMMARY_ORDER
        if counts.get(s, 0) or s in (RAN, FAILED)
    ]
    return ", ".join(parts) + f" in {elapsed:.2f}s"
