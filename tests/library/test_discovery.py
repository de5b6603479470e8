"""conjure.discover() on a repo with a Go module and a nested uv project."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Project
from tests.library.conftest import last_run, logging_go, requires_go, requires_uv

pytestmark = [requires_go, requires_uv]

THREE_LINES = """\
import conjure
DOIT_CONFIG = conjure.config(default_tasks=["test-all"])
task_discovered = conjure.discover
"""


def test_three_line_dodo_gives_a_working_test_all(workspace: Project) -> None:
    (workspace.root / "dodo.py").write_text(THREE_LINES)
    r = workspace.doit("list")
    assert r.returncode == 0, r.stderr
    names = r.stdout.split()
    for group in ("build", "check", "test-unit", "test-all", "go-test", "py-test"):
        assert group in names
    assert not [n for n in names if "magefiles" in n]  # the example's Mage module: no packages

    r = workspace.doit("test-all", "build", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    ran, _ = last_run(workspace)
    assert {"go-test:polyglot", "py-test:addon", "py-sync:addon"} <= ran
    assert {"go-build:polyglot/server", "go-build:polyglot/worker"} <= ran
    assert (workspace.root / "cache" / "reports" / "py-test-addon.xml").is_file()
    assert (workspace.root / "cache" / "reports" / "go-test-polyglot.json").is_file()

    r = workspace.doit("test-all", "build")
    assert r.returncode == 0, r.stderr
    ran, up_to_date = last_run(workspace)
    assert not ran - {"test-all", "build"}, ran
    assert "go-test:polyglot" in up_to_date

    with (workspace.root / "addon/tests/test_frames.py").open("a") as handle:
        handle.write("\n# edited\n")
    r = workspace.doit("test-all")
    assert r.returncode == 0, r.stderr
    ran, up_to_date = last_run(workspace)
    assert "py-test:addon" in ran
    assert "go-test:polyglot" in up_to_date


def test_check_and_unit_groups(workspace: Project) -> None:
    (workspace.root / "dodo.py").write_text(THREE_LINES)
    r = workspace.doit("check", "test-unit", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    ran, _ = last_run(workspace)
    assert {"go-vet:polyglot", "go-fmt:polyglot", "go-test-unit:polyglot"} <= ran
    assert "py-test-unit:addon" in ran


MAGEFILE = """//go:build mage

package main

import "github.com/magefile/mage/sh"

// Build builds the tool.
func Build() error { return sh.RunV("go", "build", ".") }
"""


def test_a_go_module_without_packages_is_skipped(tmp_path: Path) -> None:
    """Mage's magefiles/ with its own go.mod: every file needs the mage build tag."""
    repo = Project(tmp_path / "repo")
    repo.write("go.mod", "module example.com/tool\n\ngo 1.22\n")
    repo.write("main.go", "package main\n\nfunc main() {}\n")
    repo.write(
        "magefiles/go.mod",
        "module example.com/tool/magefiles\n\ngo 1.22\n\nrequire github.com/magefile/mage v1.17.2\n",
    )
    repo.write("magefiles/magefile.go", MAGEFILE)
    repo.write("dodo.py", THREE_LINES)
    log = tmp_path / "go-calls.txt"
    path = logging_go(tmp_path, log)
    r = repo.doit("list", "--all", PATH=path, GOPROXY="off")  # nothing to download
    assert r.returncode == 0, r.stdout + r.stderr
    names = r.stdout.split()
    assert {"go-build:tool/tool", "go-vet:tool", "go-test:tool"} <= set(names)
    assert not [n for n in names if "magefiles" in n]
    assert log.read_text().split().count("list") == 2  # both modules listed once
    assert repo.doit("list", PATH=path, GOPROXY="off").returncode == 0
    assert log.read_text().split().count("list") == 2  # the empty listing is cached too
