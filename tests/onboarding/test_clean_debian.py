"""The end-to-end proof: scripts/onboard.sh in a clean Debian container, a new laptop.

The image has only what a new laptop would have: Debian bookworm (debootstrapped, no
registry needed: .ci/docker-setup.sh makes ``conjure-ci/debian:bookworm``) with python3, pip
and git, and a non-root user. No uv, no Go, no Docker. The repository is copied in; the host's
CA bundle is mounted so pip and uv work behind a TLS-intercepting proxy, as a corporate laptop
would configure it. Runs only where a Docker engine answers.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.onboarding.conftest import STEP_LINE, copy_repo

pytestmark = pytest.mark.slow

CA_BUNDLE = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
IN_CONTAINER_CA = "/etc/ssl/certs/ca-certificates.crt"
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    python3 python3-pip git ca-certificates >/dev/null \\
 && rm -rf /var/lib/apt/lists/* \\
 && useradd --create-home dev
USER dev
WORKDIR /home/dev
"""
# Inside the container: refused without --yes, a first run, then a second run after
# following the first run's advice (uv's folder on PATH). Each run's wall time is printed.
SESSION = """\
cp -r /src "$HOME/conjure" && cd "$HOME/conjure" || exit 99
for run in refused first second; do
  case $run in
    refused) args="" ;;
    first) args="--yes" ;;
    second) args="--yes"; export PATH="$HOME/.local/bin:$PATH" ;;
  esac
  echo "@@ $run"
  start=$EPOCHREALTIME
  scripts/onboard.sh $args
  echo "@@ $run exit=$? seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
done
"""


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _base_image() -> str:
    image = os.environ.get("DOCKER_CI_DEBIAN_IMAGE", "")
    env_file = Path(os.environ.get("DOCKER_CI_DIR", "/tmp/conjure-docker")) / "env"
    if not image and env_file.exists():
        found = re.search(r"^DOCKER_CI_DEBIAN_IMAGE=(.+)$", env_file.read_text(), re.M)
        image = found[1].strip() if found else ""
    return image or "conjure-ci/debian:bookworm"


@pytest.fixture(scope="module")
def laptop_image() -> str:
    try:
        engine = _docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        engine = None
    if engine is None or engine.returncode != 0:
        pytest.skip("no Docker engine reachable: the clean-Debian onboarding proof needs one")
    base = _base_image()
    inspect = _docker("image", "inspect", "--format", "{{.Id}}", base)
    if inspect.returncode != 0:
        pytest.skip(f"base image {base} is missing: run .ci/docker-setup.sh to make it")
    key = hashlib.sha256((DOCKERFILE + inspect.stdout).encode()).hexdigest()[:12]
    tag = f"conjure-onboard/laptop:{key}"
    if _docker("image", "inspect", tag).returncode != 0:
        command = ["docker", "build", "-q", "--network", "host", "--build-arg", f"BASE={base}"]
        build = subprocess.run(
            [*command, "-t", tag, "-"],
            input=DOCKERFILE,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert build.returncode == 0, build.stderr
    return tag


def _runs(output: str) -> dict[str, tuple[int, float, dict[str, str]]]:
    """run name -> (exit code, seconds, {step: status}) from the session's output."""
    runs: dict[str, tuple[int, float, dict[str, str]]] = {}
    steps: dict[str, str] = {}
    for line in output.splitlines():
        end = re.match(r"^@@ (\w+) exit=(\d+) seconds=([\d.]+)", line)
        if end:
            runs[end[1]] = (int(end[2]), float(end[3]), steps)
            steps = {}
        elif match := STEP_LINE.match(line):
            steps[match["step"]] = match["status"]
    return runs


def test_new_debian_laptop_gets_to_a_passing_smoke_run(laptop_image: str, tmp_path: Path) -> None:
    source = copy_repo(tmp_path / "repo")
    command = ["docker", "run", "--rm", "--network", "host"]
    command += ["-v", f"{source}:/src:ro", "-v", f"{CA_BUNDLE}:{IN_CONTAINER_CA}:ro"]
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
        command += ["-e", f"{name}={IN_CONTAINER_CA}"]
    command += ["-e", "UV_NATIVE_TLS=1", "-e", "NO_COLOR=1", laptop_image, "bash", "-c", SESSION]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    output = done.stdout + done.stderr
    runs = _runs(output)
    assert set(runs) == {"refused", "first", "second"}, output

    code, _, steps = runs["refused"]
    assert code == 1 and steps["uv"] == "failed", output  # no uv, no --yes: blocked

    code, first, steps = runs["first"]
    assert code == 0, output
    assert steps["uv"] == "fixed", output  # pip (with PEP 668's consent) into ~/.local
    assert steps["sync"] == "ok"
    assert steps["go"] == "warning"  # no Go on this laptop: a warning with the fix
    assert steps["docker"] == "skipped"
    assert steps["smoke"] == "ok"

    code, second, steps = runs["second"]
    assert code == 0, output
    assert "failed" not in steps.values() and "fixed" not in steps.values(), output
    assert second < 15, output
    print(f"clean Debian container: first run {first:.1f} s, second run {second:.1f} s")
