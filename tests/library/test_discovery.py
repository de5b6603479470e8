"""conjure.discover() on a repo with a Go module and a nested uv project."""

from __future__ import annotations

from tests.conftest import Project
from tests.library.conftest import last_run, requires_go, requires_uv

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
