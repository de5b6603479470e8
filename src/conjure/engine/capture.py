"""Per-task output capture that works with threads.

Python actions print through ``sys.stdout``; with several tasks on worker threads, swapping
``sys.stdout`` per task (what doit does) mixes their output. Instead, while a run is in
progress, ``sys.stdout`` and ``sys.stderr`` are routers that send each write to the sink of
the task running on the writing thread, and anything else to the real stream.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Sink:
    """A task's captured output, stdout and stderr in arrival order."""

    def __init__(self) -> None:
        self._parts: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def write(self, stream: str, text: str) -> None:
        """Appends text written to ``stream`` (``out`` or ``err``)."""
        if text:
            with self._lock:
                self._parts.append((stream, text))

    def text(self) -> str:
        """Everything written, in order."""
        with self._lock:
            return "".join(text for _, text in self._parts)

    def stream_text(self, stream: str) -> str:
        """What was written to one stream."""
        with self._lock:
            return "".join(text for name, text in self._parts if name == stream)


_local = threading.local()


def current_sink() -> Sink | None:
    """The sink of the task running on this thread, if any."""
    sink: Sink | None = getattr(_local, "sink", None)
    return sink


@contextmanager
def capturing(sink: Sink) -> Iterator[Sink]:
    """Sends this thread's ``print`` output to ``sink`` while the block runs."""
    previous = current_sink()
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous


class _Router:
    """A text stream that writes to the current thread's sink, else to the real stream."""

    def __init__(self, real: TextIO, name: str) -> None:
        self._real = real
        self._name = name

    def write(self, text: str) -> int:
        sink = current_sink()
        if sink is None:
            return self._real.write(text)
        sink.write(self._name, text)
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if current_sink() is None:
            self._real.flush()

    def isatty(self) -> bool:
        return current_sink() is None and self._real.isatty()

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


@contextmanager
def routed_std_streams() -> Iterator[None]:
    """Installs the routers as ``sys.stdout``/``sys.stderr`` for the duration of a run."""
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = _Router(old_out, "out")
    sys.stderr = _Router(old_err, "err")
    try:
        yield
    finally:
        sys.stdout, sys.stderr = old_out, old_err
