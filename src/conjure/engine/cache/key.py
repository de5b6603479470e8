"""Task keys: one digest over everything that can change a task's outputs.

The parts, all canonical (sorted, relative to the project root, no absolute paths):

* ``definition``: the digest of the task's actions (commands; a Python action's code,
  arguments and the project code it calls), declared environment and params;
* ``inputs``: the digest over its file dependencies' (relative path, content digest) pairs;
* ``deps``: the keys of the tasks it depends on;
* ``tools``: the versions of the toolchains its commands use (``go``, ``uv``, ...);
* ``python``: the interpreter version, for tasks with Python actions;
* ``platform`` and ``conjure``: the OS/arch and conjure's own version.

Two clones in different folders, on two machines with the same toolchains, compute the same
key for the same inputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conjure._version import __version__
from conjure.engine.hashing import Digester

VERSION_COMMANDS: dict[str, list[str]] = {
    "go": ["env", "GOVERSION"],
    "uv": ["--version"],
    "python": ["--version"],
    "python3": ["--version"],
    "node": ["--version"],
    "npm": ["--version"],
    "yarn": ["--version"],
    "cargo": ["--version"],
    "rustc": ["--version"],
    "gcc": ["-dumpfullversion"],
    "g++": ["-dumpfullversion"],
    "cc": ["--version"],
    "clang": ["--version"],
    "javac": ["-version"],
    "java": ["-version"],
    "mvn": ["--version"],
    "ruff": ["--version"],
    "mypy": ["--version"],
    "protoc": ["--version"],
    "docker": ["--version"],
}
"""Tools whose version is part of a task's key, and how to ask each for it."""


def platform_tag() -> str:
    """The OS and architecture, e.g. ``linux-x86_64``."""
    import platform  # ~3 ms: only when a key is computed, never on a no-op run

    return f"{sys.platform}-{platform.machine().lower()}"


def python_version() -> str:
    """The running interpreter's version and implementation, e.g. ``cpython-3.11.7``."""
    import platform

    return f"{sys.implementation.name}-{platform.python_version()}"


class ToolVersions:
    """Toolchain versions, asked once per binary and remembered in ``cache/tools.json``.

    A binary is known by its resolved path, size and modification time: upgrading a tool
    changes its entry. Thread-safe.

    Args:
        memo_path: the JSON file that remembers versions between runs.
    """

    def __init__(self, memo_path: Path) -> None:
        self.memo_path = memo_path
        self._lock = threading.Lock()
        self._memo: dict[str, str] | None = None
        self._dirty = False

    def version(self, tool: str) -> str:
        """The tool's version line, ``missing`` when not on PATH, ``unknown`` if it failed."""
        found = shutil.which(tool)
        if found is None:
            return "missing"
        real = os.path.realpath(found)
        try:
            info = os.stat(real)
        except OSError:
            return "missing"
        memo_key = f"{tool}|{real}|{info.st_size}|{info.st_mtime_ns}"
        with self._lock:
            memo = self._load()
            known = memo.get(memo_key)
        if known is not None:
            return known
        answer = _ask_version(real, VERSION_COMMANDS.get(tool, ["--version"]))
        with self._lock:
            memo[memo_key] = answer
            self._dirty = True
        return answer

    def _load(self) -> dict[str, str]:
        if self._memo is None:
            try:
                loaded = json.loads(self.memo_path.read_text())
                self._memo = {str(k): str(v) for k, v in loaded.items()}
            except (OSError, ValueError, AttributeError):
                self._memo = {}
        return self._memo

    def save(self) -> None:
        """Writes new answers (atomically); nothing when nothing was asked."""
        with self._lock:
            if not self._dirty or self._memo is None:
                return
            from conjure.engine.records import write_json_atomic

            write_json_atomic(self.memo_path, self._memo)
            self._dirty = False


def _ask_version(binary: str, args: list[str]) -> str:
    try:
        done = subprocess.run(
            [binary, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return text[0].strip() if text else "unknown"


def key_parts(
    *,
    definition: str,
    inputs: str,
    deps: Mapping[str, str],
    tools: Mapping[str, str],
    uses_python: bool,
) -> dict[str, Any]:
    """The parts of a task key, JSON-ready and canonical."""
    parts: dict[str, Any] = {
        "conjure": __version__,
        "platform": platform_tag(),
        "definition": definition,
        "inputs": inputs,
        "deps": dict(sorted(deps.items())),
        "tools": dict(sorted(tools.items())),
    }
    if uses_python:
        parts["python"] = python_version()
    return parts


def task_key(parts: Mapping[str, Any], digester: Digester) -> str:
    """The key: a digest over the canonical JSON of the parts."""
    return digester.of_text(json.dumps(parts, sort_keys=True, separators=(",", ":")))


def differing_parts(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names of the parts that differ (``deps.build``, ``tools.go``, ``definition``...)."""
    changed = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            for sub in sorted(set(before) | set(after)):
                if before.get(sub) != after.get(sub):
                    changed.append(f"{name}.{sub}")
        else:
            changed.append(name)
    return changed
