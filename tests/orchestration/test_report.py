"""``doit report``: one self-contained HTML page, checked in a real headless chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conjure.errors import ConfigError
from conjure.testing._html import latest_run
from tests.conftest import Project
from tests.orchestration.conftest import make_project, needs_go

FAILING = """
import pytest

@pytest.mark.unit
def test_bad():
    print("output of the failing test")
    assert 1 == 2, "one is not two <b>"

@pytest.mark.api
def test_fine():
    pass
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture
def reported(project: Project) -> Path:
    make_project(project, py_tests=FAILING)
    assert project.doit("--continue", "test-all").returncode == 1
    r = project.doit("report")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "report: cache/report.html" in r.stdout
    return project.root / "cache" / "report.html"


@needs_go
def test_report_is_self_contained_with_tables_and_failures(reported: Path) -> None:
    page = reported.read_text()
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # nothing fetched
    assert "<table id='summary'>" in page and "<table id='slowest'>" in page
    assert "py/tests/test_things.py::test_bad" in page
    assert "one is not two &lt;b&gt;" in page and "output of the failing test" in page
    assert '"name": "test-unit"' in page  # the timeline data of the last run


def test_report_without_any_run_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no run recorded"):
        latest_run(tmp_path)


@needs_go
def test_report_renders_in_headless_chromium_without_script_errors(reported: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (run .ci/chromium-setup.sh)")
    with tempfile.TemporaryDirectory() as profile:
        flags = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
        ]
        url = reported.resolve().as_uri()
        dom = subprocess.run(
            [*flags, "--virtual-time-budget=3000", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        shot = reported.parent / "report.png"
        subprocess.run(
            [*flags, "--window-size=1280,1600", f"--screenshot={shot}", url],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert 'data-rendered="ok"' in dom.stdout, dom.stderr[-3000:]
    assert len(re.findall(r'<rect [^>]*class="task"', dom.stdout)) >= 3  # timeline bars
    errors = [
        line for line in dom.stderr.splitlines() if "Uncaught" in line or ":ERROR:CONSOLE" in line
    ]
    assert errors == []
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
