"""Timing of child processes: wall time and peak resident memory.

Each command runs with its output going to a pipe (never a terminal), so conjure picks its
plain reporter. Peak memory is the child's maximum resident set size, from GNU time.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

VENV_BIN = Path(sys.executable).parent
"""Folder of the interpreter running the benchmark; ``doit`` is taken from the same venv."""

DOIT = str(VENV_BIN / "doit")

PURE_DOIT = [
    sys.executable,
    "-c",
    "import sys, doit.plugin as p; p.entry_points_impl = lambda: lambda group: []; "
    "from doit.doit_cmd import DoitMain; sys.exit(DoitMain().run(sys.argv[1:]))",
]
"""doit with plug-in discovery switched off: conjure's installed ``doit.COMMAND`` plug-ins
(which replace ``run`` for every dodo.py in the venv) are not loaded."""


class ToolError(Exception):
    """A benchmarked command failed; the message is a short line for the results table."""


@dataclass(frozen=True)
class Run:
    """One finished command.

    Attributes:
        wall: Wall-clock seconds from start to exit.
        peak_mb: Peak resident set size in MiB.
        output: Combined stdout and stderr.
    """

    wall: float
    peak_mb: float
    output: str


def child_env() -> dict[str, str]:
    """Return the environment for benchmarked commands: ours, minus colour and terminal hints."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONJURE_")}
    env["NO_COLOR"] = "1"
    env["TERM"] = "dumb"
    env.pop("FORCE_COLOR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both tools run as users run them: with .pyc
    return env


@functools.cache
def gnu_time() -> str | None:
    """Return the path of GNU time if it is installed, else ``None``."""
    path = shutil.which("time", path="/usr/bin:/usr/local/bin:/bin")
    if path is None:
        return None
    probe = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return path if "GNU" in probe.stdout + probe.stderr else None


def run(cmd: list[str], cwd: Path, timeout: float = 600.0) -> Run:
    """Run ``cmd`` to completion and measure it.

    Peak memory comes from GNU time (``%M``) when installed. A child forked straight from
    this process would inherit this process's RSS as its high-water mark (Linux carries
    it across ``exec``), so the ``os.wait4`` figure is only a fallback, an upper bound.

    Args:
        cmd: Command line.
        cwd: Working folder.
        timeout: Seconds before the child's process group is killed.

    Returns:
        The measurement.

    Raises:
        ToolError: The command exited non-zero or timed out; the message holds the exit
            code and the last line of output.
    """
    timer = gnu_time()
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [timer, "-f", "%M", "-o", rss.name, *cmd] if timer else cmd
        wall, code, maxrss_kb, text = _spawn_and_wait(wrapped, cwd, timeout)
        if timer:
            maxrss_kb = _parse_kb(rss.read(), fallback=maxrss_kb)
    if wall >= timeout:
        raise ToolError(f"timed out after {timeout:.0f} s")
    if code != 0:
        raise ToolError(f"exit {code}: {_last_line(text)}")
    return Run(wall, maxrss_kb / 1024, text)


def _parse_kb(report: str, fallback: int) -> int:
    """Read GNU time's ``%M`` (the last line); ``fallback`` when absent (a killed child)."""
    last = _last_line(report)
    return int(last) if last.isdigit() else fallback


def _spawn_and_wait(cmd: list[str], cwd: Path, timeout: float) -> tuple[float, int, int, str]:
    """Run ``cmd`` with output to a pipe; return wall, exit code, ru_maxrss (KiB), output."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(proc.stdout, chunks), daemon=True)
    reader.start()
    killer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
    killer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    killer.cancel()
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = b"".join(chunks).decode(errors="replace")
    return wall, proc.returncode, usage.ru_maxrss, text


def _drain(stream: IO[bytes], chunks: list[bytes]) -> None:
    chunks.extend(iter(lambda: stream.read(65536), b""))
    stream.close()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(no output)"


def repeat(cmd: list[str], cwd: Path, times: int) -> list[Run]:
    """Run ``cmd`` several times in a row.

    Args:
        cmd: Command line.
        cwd: Working folder.
        times: Number of runs (at least 1).

    Returns:
        The runs, in order.
    """
    return [run(cmd, cwd) for _ in range(max(1, times))]


def median_wall(runs: list[Run]) -> float:
    """Median wall time of ``runs`` in seconds."""
    return statistics.median(r.wall for r in runs)


def median_peak(runs: list[Run]) -> float:
    """Median peak RSS of ``runs`` in MiB."""
    return statistics.median(r.peak_mb for r in runs)


def startup_seconds(times: int) -> float:
    """Median wall time of ``python -c "import doit.doit_cmd"``: the cost both tools pay.

    Args:
        times: Number of runs.

    Returns:
        Seconds.
    """
    cmd = [sys.executable, "-c", "import doit.doit_cmd"]
    return median_wall(repeat(cmd, Path.cwd(), times))
