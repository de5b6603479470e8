"""Owned child processes: each command in its own process group, stopped as a whole.

On cancellation (fail-fast, timeout, Ctrl-C) the group gets SIGTERM, then SIGKILL after a
grace period. When a command's main process exits, whatever it left running in its group is
stopped too, so no orphan outlives its task and no stray child holds the output pipe open.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from conjure.engine.capture import Sink
from conjure.engine.model import Cancel

_IS_POSIX = os.name == "posix"


class CommandResult:
    """A finished command.

    Attributes:
        returncode: the exit code (negative: killed by that signal).
        stdout: what it wrote to stdout (for doit's ``save_out`` and results).
        timed_out: it was stopped because its task's time ran out.
        cancelled: it was stopped for another reason (fail-fast, Ctrl-C).
    """

    def __init__(self, returncode: int, stdout: str, timed_out: bool, cancelled: bool) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.timed_out = timed_out
        self.cancelled = cancelled


def run_command(
    command: str | Sequence[str],
    *,
    sink: Sink,
    cancel: Cancel,
    deadline: float | None = None,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    grace: float = 5.0,
) -> CommandResult:
    """Runs a command (a shell string or an argument list), capturing its output.

    Args:
        command: a string runs through the shell; a list runs directly.
        sink: receives stdout and stderr as they arrive.
        cancel: the task's cancellation token; cancelling stops the process group.
        deadline: ``time.monotonic()`` value at which the command is stopped.
        cwd: working directory.
        env: the full environment for the child.
        grace: seconds between SIGTERM and SIGKILL.

    Raises:
        OSError: the command could not be started (e.g. the program does not exist).
    """
    proc = _start(command, cwd, env)
    stdout_parts: list[str] = []
    readers = [
        threading.Thread(target=_pump, args=(proc.stdout, sink, "out", stdout_parts), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, sink, "err", None), daemon=True),
    ]
    for reader in readers:
        reader.start()
    unregister = cancel.on_cancel(lambda: stop_group(proc, grace))
    timed_out = False
    try:
        timed_out = _wait(proc, cancel, deadline)
    finally:
        unregister()
        stop_group_and_wait(proc, grace)
        for reader in readers:
            reader.join()
    cancelled = cancel.cancelled and not timed_out
    return CommandResult(proc.returncode, "".join(stdout_parts), timed_out, cancelled)


def _start(
    command: str | Sequence[str], cwd: str | None, env: Mapping[str, str] | None
) -> subprocess.Popen[bytes]:
    kwargs: dict[str, object] = {}
    if _IS_POSIX:
        kwargs["start_new_session"] = True
    else:  # pragma: no cover - Windows
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        command,
        shell=isinstance(command, str),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def _wait(proc: subprocess.Popen[bytes], cancel: Cancel, deadline: float | None) -> bool:
    """Waits for the process; returns True when it was stopped for the deadline."""
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            proc.wait(timeout=timeout)
            return False
        except subprocess.TimeoutExpired:
            cancel.cancel("timeout")
            proc.wait()
            return True


def _pump(stream: object, sink: Sink, name: str, keep: list[str] | None) -> None:
    fd = stream.fileno()  # type: ignore[attr-defined]
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    while True:
        chunk = os.read(fd, 65536)
        text = decoder.decode(chunk, final=not chunk)
        if text:
            sink.write(name, text)
            if keep is not None:
                keep.append(text)
        if not chunk:
            break
    stream.close()  # type: ignore[attr-defined]


def stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the process group now, SIGKILL after ``grace`` seconds if still alive."""
    if not _IS_POSIX:  # pragma: no cover - Windows
        proc.kill()
        return
    _signal_group(proc.pid, signal.SIGTERM)
    timer = threading.Timer(grace, _kill_if_alive, args=(proc,))
    timer.daemon = True
    timer.start()


def _kill_if_alive(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc.pid, signal.SIGKILL)


def stop_group_and_wait(proc: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM to the process's group, then waits up to ``grace`` seconds for the process and
    everything in its group to end; SIGKILL to whatever is left. Also stops what a command
    left running in its group after its main process exited."""
    if not _IS_POSIX:  # pragma: no cover - Windows
        if proc.poll() is None:
            proc.kill()
        return
    if _signal_group(proc.pid, signal.SIGTERM):
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (proc.poll() is None or _group_alive(proc.pid)):
            time.sleep(0.02)
        _signal_group(proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
