"""conjure.python without its toolchain: the missing uv is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

from conjure.python import MISSING_UV
from tests.conftest import Project


def test_missing_uv_is_one_line_and_exit_2(project: Project, tmp_path: Path) -> None:
    project.write("pyproject.toml", '[project]\nname = "x"\nversion = "0"\n')
    project.dodo("from conjure import python\n\ndef task_sync():\n    return python.sync()\n")
    empty = tmp_path / "no-tools"
    empty.mkdir()
    r = project.doit("list", PATH=str(empty))  # a PATH where uv really is not
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [f"conjure: error: {MISSING_UV}"]
