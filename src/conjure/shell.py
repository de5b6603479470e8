"""Generic tasks and Mage ``sh``-style helpers for a dodo.py.

``command`` is a task for any tool (``yarn build``, a code generator) with glob inputs and
literal outputs. ``run``, ``output`` and ``exit_status`` are for Python actions: run a
command with extra environment variables, capture its stdout, fail with the child's code::

    from conjure import shell

    def task_web():
        return shell.command("yarn build", inputs=["web/src/**/*"], outputs=["web/dist/app.js"])

    def deploy():
        rev = shell.output("git", "rev-parse", "HEAD")
        shell.run("./deploy.sh", rev, env={"STAGE": "prod"})
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from doit.action import CmdAction

from conjure._tasks import finish
from conjure.errors import ConjureError

__all__ = ["CommandError", "command", "exit_status", "files", "output", "run"]

_GLOB_CHARS = frozenset("*?[")


class CommandError(ConjureError):
    """A command run by ``run`` or ``output`` exited non-zero.

    Attributes:
        exit_code: the child's exit code (a process exits with it).
        command: the command, as a list.
    """

    def __init__(self, command: Sequence[str], exit_code: int) -> None:
        self.command = list(command)
        self.exit_code = exit_code
        super().__init__(f"command failed (exit {exit_code}): {' '.join(self.command)}")


def files(*patterns: str, root: str = ".") -> list[str]:
    """Files matching glob patterns (``**`` included), relative to ``root``, sorted.

    A pattern without wildcards is kept as given even when the file does not exist yet
    (another task may create it); folders are never returned.
    """
    found: set[str] = set()
    base = Path(root)
    for pattern in patterns:
        if not _GLOB_CHARS.intersection(pattern):
            found.add(Path(pattern).as_posix())
            continue
        for match in glob.glob(pattern, root_dir=base, recursive=True):
            if (base / match).is_file():
                found.add(Path(match).as_posix())
    return sorted(found)


def command(
    cmd: str | Sequence[str],
    *,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    env: Mapping[str, str | None] | None = None,
    cwd: str | None = None,
    **task: Any,
) -> dict[str, Any]:
    """A task running one command when its inputs changed or an output is missing/changed.

    Args:
        cmd: a shell string, or an argument list (no shell; portable to Windows).
        inputs: glob patterns of the files it reads, relative to the dodo.py folder. A task
            without inputs always runs.
        outputs: the files it writes (literal paths), relative to the dodo.py folder.
        env: variables set for the command (``None`` unsets one); part of the definition.
        cwd: the folder it runs in, relative to the dodo.py folder.
        **task: more task keys (``name``, ``doc``, ``task_dep``, ``timeout``, ``pool``...).
    """
    action: Any = list(cmd) if not isinstance(cmd, str) else cmd
    if cwd is not None:
        action = CmdAction(action, cwd=cwd)
    shown = cmd if isinstance(cmd, str) else " ".join(cmd)
    result: dict[str, Any] = {
        "doc": shown,
        "actions": [action],
        "file_dep": files(*inputs),
        "targets": list(outputs),
    }
    if env is not None:
        result["env"] = dict(env)
    return finish(result, task)


def _environment(env: Mapping[str, str | None] | None) -> dict[str, str]:
    merged = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def run(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    cwd: str | None = None,
    check: bool = True,
) -> int:
    """Runs a command (no shell), its output printed (into the task's output under doit).

    Args:
        *args: the program and its arguments.
        env: variables added to (or, with ``None``, removed from) the current environment.
        cwd: the folder it runs in.
        check: raise ``CommandError`` on a non-zero exit.

    Returns:
        The exit code.

    Raises:
        CommandError: the command exited non-zero and ``check`` is set, or did not start.
    """
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError:
        raise CommandError(args, 127) from None
    with proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
    if check and proc.returncode != 0:
        raise CommandError(args, proc.returncode)
    return proc.returncode


def output(*args: str, env: Mapping[str, str | None] | None = None, cwd: str | None = None) -> str:
    """Runs a command and returns its stdout, trailing whitespace removed (Mage ``sh.Output``).

    Raises:
        CommandError: it exited non-zero (its stderr is printed) or did not start.
    """
    try:
        done = subprocess.run(
            args, cwd=cwd, env=_environment(env), capture_output=True, text=True, check=False
        )
    except OSError:
        raise CommandError(args, 127) from None
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise CommandError(args, done.returncode)
    return done.stdout.rstrip()


def exit_status(error: BaseException | None) -> int:
    """The exit code an error stands for (Mage ``sh.ExitStatus``): 0 for none, the child's
    code for ``CommandError``, else 1."""
    if error is None:
        return 0
    return int(getattr(error, "exit_code", 1))
