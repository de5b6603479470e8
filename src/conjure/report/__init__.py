"""Reporters: the only code that writes to the terminal.

``make_reporter`` picks rich output on an interactive terminal and plain lines otherwise
(a pipe, a file, ``CI=true``, ``NO_COLOR``... ``TERM=dumb``); both get the same events.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from conjure.report.plain import PlainReporter, Reporter

__all__ = ["PlainReporter", "Reporter", "make_reporter", "wants_rich"]


def __getattr__(name: str) -> Any:
    """``PlainReporter`` and ``Reporter`` on first use: the no-op path needs only
    ``wants_rich`` and must not pay for the event classes."""
    if name in ("PlainReporter", "Reporter"):
        from conjure.report import plain

        return getattr(plain, name)
    raise AttributeError(name)


def wants_rich(mode: str, stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Whether to use the rich live view for an output mode and stream."""
    env = os.environ if environ is None else environ
    if mode == "plain":
        return False
    if mode == "rich":
        return True
    if env.get("CI", "").lower() in ("1", "true", "yes") or env.get("TERM") == "dumb":
        return False
    return stream.isatty()


def make_reporter(
    mode: str, verbosity: int, hidden: frozenset[str] = frozenset(), stream: TextIO | None = None
) -> Reporter:
    """A reporter for the output mode (``auto``, ``rich``, ``plain``).

    Args:
        mode: ``auto``, ``rich`` or ``plain``.
        verbosity: doit's verbosity (0, 1, 2).
        hidden: tasks not to list (group tasks without actions).
        stream: where to write; stdout by default.
    """
    out = stream if stream is not None else sys.stdout
    if wants_rich(mode, out):
        from conjure.report.live import LiveReporter

        return LiveReporter(out, verbosity, hidden)
    from conjure.report.plain import PlainReporter

    return PlainReporter(out, verbosity, hidden)
