"""Owned test processes: own process group, output streamed line by line, a deadline that
stops the whole group (SIGTERM, then SIGKILL), and the last lines kept for the report."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from conjure.engine.process import stop_group_and_wait

GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL."""
TAIL_LINES = 60


@dataclass
class Finished:
    """How a test process ended.

    Attributes:
        returncode: the exit code (negative: killed by a signal).
        timed_out: it was stopped at the deadline.
        tail: its last lines of output.
    """

    returncode: int
    timed_out: bool
    tail: str


_RUNNING: set[subprocess.Popen[str]] = set()
_LOCK = threading.Lock()
_STOPPED = threading.Event()


def run_streaming(
    command: Sequence[str],
    *,
    cwd: str | None,
    env: Mapping[str, str],
    deadline: float | None,
    on_line: Callable[[str], object],
) -> Finished:
    """Runs a command, handing each output line (stdout and stderr merged) to ``on_line``.

    Args:
        command: the program and its arguments.
        cwd: the working folder.
        env: the whole environment.
        deadline: ``time.monotonic()`` value at which the process group is stopped.
        on_line: called with each line, newline included.

    Raises:
        OSError: the program cannot be started, or ``stop_all`` was called (nothing starts
            after it: other threads of the runner may still be about to start a process).
    """
    if _STOPPED.is_set():
        raise OSError("the suite runner is stopping")
    proc = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,
    )
    with _LOCK:
        _RUNNING.add(proc)
        stopped = _STOPPED.is_set()
    if stopped:  # stop_all ran between the check above and the start
        stop_group(proc, grace=1.0)
    timed_out = threading.Event()
    watchdog = _watchdog(proc, deadline, timed_out)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)
            on_line(line)
        returncode = proc.wait()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        stop_group(proc)
        with _LOCK:
            _RUNNING.discard(proc)
    return Finished(returncode, timed_out.is_set(), "".join(tail))


def _watchdog(
    proc: subprocess.Popen[str], deadline: float | None, flag: threading.Event
) -> threading.Timer | None:
    if deadline is None:
        return None

    def expire() -> None:
        flag.set()
        stop_group(proc)

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
    timer.daemon = True
    timer.start()
    return timer


def stop_group(proc: subprocess.Popen[str], grace: float = GRACE) -> None:
    """SIGTERM to the process's group, SIGKILL after ``grace`` seconds if anything is left."""
    stop_group_and_wait(proc, grace)


def stop_all() -> None:
    """Stops every running test process group and any later start (on SIGTERM to the
    runner)."""
    with _LOCK:
        _STOPPED.set()
        running = list(_RUNNING)
    for proc in running:
        stop_group(proc, grace=1.0)
