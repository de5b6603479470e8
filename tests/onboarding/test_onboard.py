"""scripts/onboard.sh on this machine, for real, in a fresh copy of the repository.

The module's first test is the new machine's first run (no .venv, no cache/); the others
re-run the script in the same copy with one thing changed: the Go environment, PATH, flags.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.onboarding.conftest import STEPS, Checkout, Run

GOOD = "https://proxy.golang.org,direct"


@pytest.fixture(scope="module")
def first(checkout: Checkout) -> Run:
    return checkout.onboard("--yes", "--skip-docker")


def test_first_run_reports_each_step_on_one_timed_line(first: Run, checkout: Checkout) -> None:
    assert first.returncode == 0, first.stdout + first.stderr
    assert list(first.steps) == list(STEPS), first.stdout
    assert first.status("python") == "ok"
    assert first.status("uv") == "ok"
    assert first.status("sync") == "ok"
    assert (checkout.root / ".venv" / "bin" / "doit").exists()
    assert first.status("smoke") == "ok", first.stdout
    assert "uv run doit test-unit:" in first.text("smoke")
    assert " passed" in first.text("smoke"), first.text("smoke")
    last = first.stdout.splitlines()
    assert any(line.startswith("total ") and " 0 failed" in line for line in last), first.stdout
    assert "next: uv run doit list" in first.stdout


def test_skip_docker_skips_docker_image_and_doctor(first: Run) -> None:
    assert first.steps["docker"] == ("skipped", "--skip-docker")
    assert first.status("image") == "skipped"
    assert first.status("doctor") == "skipped"
    assert "dev-up" not in first.stdout  # no Docker: not suggested as the next step


def test_log_has_every_step_line_and_the_commands_output(first: Run, checkout: Checkout) -> None:
    log = (checkout.root / "cache" / "onboard.log").read_text()
    for line in first.stdout.splitlines():
        if line.split(" ", 1)[0] in ("ok", "fixed", "warning", "failed", "skipped"):
            assert line in log
    assert "$ uv sync --locked" in log
    assert "$ uv run --no-sync doit test-unit" in log
    assert "(exit 0)" in log


def test_second_run_is_quick_and_changes_nothing(first: Run, checkout: Checkout) -> None:
    lock = (checkout.root / "uv.lock").read_bytes()
    again = checkout.onboard("--yes", "--skip-docker")
    assert again.returncode == 0, again.stdout
    assert {k: v[0] for k, v in again.steps.items()} == {k: v[0] for k, v in first.steps.items()}
    assert "fixed" not in {status for status, _ in again.steps.values()}
    assert again.seconds < 15, again.stdout
    assert (checkout.root / "uv.lock").read_bytes() == lock
    print(f"onboarding: first run {first.seconds:.1f} s, second run {again.seconds:.1f} s")


def test_with_docker_when_an_engine_answers(first: Run, checkout: Checkout) -> None:
    """Without --skip-docker: docker, image and doctor each give a line; none blocks work."""
    run = checkout.onboard("--yes", timeout=1900)
    assert run.returncode == 0, run.stdout
    engine = subprocess.run(["docker", "version"], capture_output=True, check=False)
    if shutil.which("docker") is None:
        assert run.status("docker") == "skipped"
    elif engine.returncode != 0:
        assert run.status("docker") == "warning"
        assert "--skip-docker" in run.text("docker")
    else:
        assert run.status("docker") == "ok", run.stdout
        assert "BuildKit" in run.text("docker")
        assert run.status("image") in ("ok", "warning")
        assert run.status("doctor") in ("ok", "warning")


def test_goproxy_direct_is_flagged_with_the_fix(first: Run, checkout: Checkout) -> None:
    if shutil.which("go") is None:
        pytest.skip("no Go on PATH")
    run = checkout.onboard("--skip-docker", GOPROXY="direct")
    assert run.returncode == 0, run.stdout  # a warning, not a blocker
    assert run.status("goenv") == "warning"
    assert "GOPROXY=direct fetches every module from its VCS" in run.text("goenv")
    assert f"fix: go env -w GOPROXY={GOOD} (or re-run with --fix)" in run.text("goenv")


def test_fix_sets_goproxy_in_goenv_only(first: Run, checkout: Checkout) -> None:
    if shutil.which("go") is None:
        pytest.skip("no Go on PATH")
    users = _users_goenv()
    before = users.read_bytes() if users.exists() else None
    env = checkout.env()
    subprocess.run(["go", "env", "-w", "GOPROXY=direct", "GOSUMDB=off"], env=env, check=True)
    try:
        fixed = checkout.onboard("--skip-docker", "--fix")
        assert fixed.returncode == 0, fixed.stdout
        assert fixed.status("goenv") == "fixed", fixed.stdout
        assert f"GOPROXY={GOOD} GOSUMDB=sum.golang.org" in fixed.text("goenv")
        text = checkout.goenv.read_text()
        assert f"GOPROXY={GOOD}" in text and "GOSUMDB=sum.golang.org" in text
        again = checkout.onboard("--skip-docker")
        assert again.status("goenv") == "ok", again.stdout
    finally:
        checkout.goenv.unlink(missing_ok=True)
    assert (users.read_bytes() if users.exists() else None) == before


def test_fix_cannot_override_the_environment_and_says_so(first: Run, checkout: Checkout) -> None:
    if shutil.which("go") is None:
        pytest.skip("no Go on PATH")
    run = checkout.onboard("--skip-docker", "--fix", GOPROXY="off")
    assert run.returncode == 0, run.stdout
    assert run.status("goenv") == "warning"
    assert "module downloads are disabled (GOPROXY=off)" in run.text("goenv")
    assert "GOPROXY is set in your environment" in run.text("goenv")
    assert not checkout.goenv.exists()


def test_missing_go_says_how_to_get_it(first: Run, checkout: Checkout) -> None:
    path = os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "go").exists()
    )
    run = checkout.onboard("--skip-docker", PATH=path)
    assert run.returncode == 0, run.stdout  # Python work goes on
    assert run.status("go") == "warning"
    assert "Go not found; examples/polyglot/go.mod needs Go 1.22+" in run.text("go")
    if Path("/usr/local/go/bin/go").exists():
        assert (
            'installed in /usr/local/go/bin but not on PATH: export PATH="/usr/local/go/bin:'
            in (run.text("go"))
        )
    else:
        assert "https://go.dev/dl/" in run.text("go")
        assert "uv run doit dev-up && uv run doit dev-shell" in run.text("go")
    assert run.steps["goenv"] == ("skipped", "no Go")


def test_go_older_than_go_mod_is_a_warning(first: Run, checkout: Checkout) -> None:
    if shutil.which("go") is None:
        pytest.skip("no Go on PATH")
    go_mod = checkout.root / "examples" / "polyglot" / "go.mod"
    original = go_mod.read_text()
    go_mod.write_text(original.replace("\ngo 1.22", "\ngo 1.99", 1))
    try:
        run = checkout.onboard("--skip-docker", GOTOOLCHAIN="local")
    finally:
        go_mod.write_text(original)
    assert run.returncode == 0, run.stdout
    assert run.status("go") == "warning"
    assert "is older than 1.99, which examples/polyglot/go.mod needs" in run.text("go")


def test_uv_missing_is_installed_with_pip_only_when_allowed(
    first: Run, checkout: Checkout, tmp_path: Path
) -> None:
    """Debian's own python3 (PEP 668, pip, no uv) first on PATH, no uv anywhere on it:
    refused without --yes (blocking), installed into the user base with it, then found
    there (off PATH) by the next run."""
    if not _system_python_without_uv():
        pytest.skip("needs /usr/bin/python3 with pip and without uv (Debian's python3-pip)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "go"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool) or "")
    path = f"/usr/bin:/bin:{bin_dir}"
    if shutil.which("uv", path=path):
        pytest.skip("uv is installed in /usr/bin or /bin")
    user_base = tmp_path / "userbase"
    env = {"PATH": path, "PYTHONUSERBASE": str(user_base), "HOME": str(tmp_path)}
    env["UV_CACHE_DIR"] = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")

    refused = checkout.onboard("--skip-docker", **env)
    assert refused.returncode == 1, refused.stdout
    assert refused.status("uv") == "failed"
    assert "fix: re-run with --yes, or: python3 -m pip install --user uv" in refused.text("uv")
    assert "blocked: fix the failed step(s) above" in refused.stdout

    installed = checkout.onboard("--yes", "--skip-docker", **env)
    assert installed.returncode == 0, installed.stdout
    assert installed.status("uv") == "fixed", installed.stdout
    assert f"with pip at {user_base}/bin/uv" in installed.text("uv")
    assert installed.status("smoke") == "ok"

    found = checkout.onboard("--skip-docker", **env)
    assert found.status("uv") == "warning", found.stdout
    assert f'fix: export PATH="{user_base}/bin:$PATH"' in found.text("uv")
    assert found.returncode == 0


def test_bad_option_is_one_line_and_exit_2(checkout: Checkout) -> None:
    run = checkout.onboard("--nope")
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "onboard.sh: unknown option '--nope' "
        "(usage: scripts/onboard.sh [--yes] [--skip-docker] [--fix] [--help])"
    ]


def test_doit_onboard_task_runs_the_script(first: Run, checkout: Checkout) -> None:
    dodo = checkout.root / "dodo_onboard.py"
    dodo.write_text(
        "from dodo import *  # noqa: F403\n"
        "from dodo import DOIT_CONFIG  # noqa: F401\n"
        "from tasks.onboard import task_onboard  # noqa: F401\n"
    )
    doit = checkout.root / ".venv" / "bin" / "doit"
    done = subprocess.run(
        [str(doit), "-f", str(dodo), "onboard", "--skip-docker"],
        cwd=checkout.root,
        env=checkout.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped  docker" in done.stdout
    assert "ok       smoke" in done.stdout


def _users_goenv() -> Path:
    env = {k: v for k, v in os.environ.items() if k != "GOENV"}
    out = subprocess.run(["go", "env", "GOENV"], env=env, capture_output=True, text=True)
    return Path(out.stdout.strip() or "/nonexistent")


def _system_python_without_uv() -> bool:
    python = "/usr/bin/python3"
    probe = "import importlib.util as u, sys; sys.exit(bool(u.find_spec('uv')) or not u.find_spec('pip'))"
    return Path(python).exists() and subprocess.run([python, "-c", probe]).returncode == 0
