"""Build hook: compiles conjure's one optional C extension, ``conjure.engine._filestats``.

It stats many files in one call without the GIL (the no-op path's file check). Built with the
platform's C compiler against the stable ABI (one ``.abi3.so`` for CPython >= 3.11); on a
machine without a compiler or Python headers, or with ``CONJURE_NO_EXTENSION=1``, the build
goes on without it and conjure uses the same function written in Python.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/conjure/engine/_filestats.c")
TARGET = Path("src/conjure/engine/_filestats.abi3.so")


def compile_command(source: Path, target: Path) -> list[str]:
    """The compiler call that makes ``target`` from ``source`` with this Python's headers."""
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    linking = (
        ["-bundle", "-undefined", "dynamic_lookup"] if sys.platform == "darwin" else ["-shared"]
    )
    include = sysconfig.get_paths()["include"]
    return [
        *compiler,
        "-O2",
        "-fPIC",
        "-Wall",
        f"-I{include}",
        *linking,
        str(source),
        "-o",
        str(target),
    ]


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the extension into the source tree (editable installs load it from there)."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("CONJURE_NO_EXTENSION") or sys.platform == "win32":
            return
        root = Path(self.root)
        source, target = root / SOURCE, root / TARGET
        fresh = target.exists() and target.stat().st_mtime >= source.stat().st_mtime
        if not fresh:
            partial = target.with_suffix(".partial")  # renamed when whole: never half a library
            try:
                subprocess.run(
                    compile_command(source, partial), check=True, capture_output=True, text=True
                )
                partial.replace(target)
            except (OSError, subprocess.CalledProcessError) as err:
                partial.unlink(missing_ok=True)
                detail = getattr(err, "stderr", "") or str(err)
                self.app.display_warning(
                    f"conjure: C extension not built, using Python instead ({detail.strip()[:300]})"
                )
                return
        if version != "editable":
            build_data["artifacts"].append(str(TARGET))
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
