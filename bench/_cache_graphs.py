"""Workspaces and file helpers for the output cache benchmark (``bench/cache.py``).

The restore workspace is a git repository of 100 real tasks: each reads a small seed file
(its only ``file_dep``) and writes a few files of random, incompressible bytes (its
``targets``), appending its name to a log file outside the workspace, so a run that executes
any action is visible. Outputs and ``cache/`` are ignored by git: a clone holds the sources
only, as a CI checkout does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

_OUTPUT_DODO = """import random
from pathlib import Path

import conjure

DOIT_CONFIG = conjure.config()

LOG = {log!r}
TASKS = {tasks}
PARTS = {parts}
PART_BYTES = {part_bytes}


def _generate(name):
    with open(LOG, "a") as fh:
        fh.write(name + "\\n")
    rng = random.Random(Path(f"in/{{name}}.txt").read_text())
    folder = Path("out") / name
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(PARTS):
        (folder / f"part{{part}}.bin").write_bytes(rng.randbytes(PART_BYTES))


def task_gen():
    for i in range(TASKS):
        name = f"t{{i:03d}}"
        yield {{
            "name": name,
            "file_dep": [f"in/{{name}}.txt"],
            "targets": [f"out/{{name}}/part{{p}}.bin" for p in range(PARTS)],
            "actions": [(_generate, [name])],
        }}
"""


@dataclass(frozen=True)
class OutputSpec:
    """Shape of the restore graph: independent tasks, each writing ``parts`` files.

    Attributes:
        tasks: Number of tasks.
        parts: Output files per task.
        part_bytes: Size of each output file.
    """

    tasks: int = 100
    parts: int = 4
    part_bytes: int = 512 * 1024

    @property
    def total_bytes(self) -> int:
        """Bytes of output of the whole graph."""
        return self.tasks * self.parts * self.part_bytes


def write_output_workspace(root: Path, spec: OutputSpec, log: Path) -> None:
    """Create the restore workspace: ``dodo.py``, one seed file per task, ``.gitignore``.

    Args:
        root: Empty or missing folder to fill.
        spec: The graph shape.
        log: Absolute path of the file every action appends its task name to (outside
            ``root``, so clones of it log to the same place).
    """
    (root / "in").mkdir(parents=True, exist_ok=True)
    for i in range(spec.tasks):
        (root / "in" / f"t{i:03d}.txt").write_text(f"seed {i}\n")
    body = _OUTPUT_DODO.format(
        log=str(log), tasks=spec.tasks, parts=spec.parts, part_bytes=spec.part_bytes
    )
    (root / "dodo.py").write_text(body)
    (root / ".gitignore").write_text("cache/\nout/\n")


def git_commit_all(root: Path, ignore: str | None = None) -> None:
    """Make ``root`` a git repository with everything in it committed.

    Args:
        root: The workspace.
        ignore: If given, written to ``.gitignore`` first.
    """
    if ignore is not None:
        (root / ".gitignore").write_text(ignore)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def fresh_clone(origin: Path, dest: Path) -> None:
    """``git clone`` the workspace and copy its ``cache/`` folder in, as a CI job does.

    Args:
        origin: A committed workspace that has run once (its ``cache/`` is filled).
        dest: Missing folder for the clone.
    """
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True, capture_output=True)
    shutil.copytree(origin / "cache", dest / "cache")


def digests(folder: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and permission bits of every file under ``folder``, by relative path.

    Args:
        folder: The folder (missing: an empty result).

    Returns:
        ``{relative path: (hex digest, mode)}``.
    """
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            found[str(path.relative_to(folder))] = (digest, stat.S_IMODE(path.stat().st_mode))
    return found


def warm(*folders: Path) -> None:
    """Read every file under ``folders`` so the timed run finds them in the page cache."""
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                with path.open("rb") as fh:
                    while fh.read(1 << 20):
                        pass


def evict(*folders: Path) -> None:
    """Drop every file under ``folders`` from the page cache (written out first), so the next
    read of them comes from the disk. Per file (``posix_fadvise(DONTNEED)``), so nobody
    else's cached files are touched, unlike ``/proc/sys/vm/drop_caches``."""
    os.sync()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def settle() -> None:
    """Write dirty pages out now, so write-back of earlier steps does not land in a timing."""
    os.sync()


def remove(*folders: Path) -> None:
    """Delete folders (missing ones are fine) and flush the deletions."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    settle()
