"""`doit image` on a real engine: local bases, the Go proxy, uv's lock, the content key,
layer caching and secrets. One scenario project for the module; tests run in order."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import docker
import pytest

from tests.docker.conftest import DOIT, Scenario, built_steps, make_scenario, step

pytestmark = pytest.mark.slow

TAG = re.compile(r"built (conjure-test-app:dev-[0-9a-f]{16})")


def _run(image: str, script: str, source: Path | None = None) -> str:
    client = docker.from_env()
    volumes = {str(source): {"bind": "/src", "mode": "ro"}} if source else None
    output: bytes = client.containers.run(
        image, ["bash", "-c", script], remove=True, network_mode="none", volumes=volumes
    )
    return output.decode()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dependency_lists(package: dict[str, object]) -> list[list[dict[str, str]]]:
    lists = [package.get("dependencies", [])]
    groups = package.get("dev-dependencies", {})
    lists += list(groups.values()) if isinstance(groups, dict) else []
    return lists  # type: ignore[return-value]


def _built_tag(output: str) -> str:
    match = TAG.search(output)
    assert match, output
    return match.group(1)


@pytest.fixture(scope="module")
def first_build(scenario: Scenario) -> tuple[subprocess.CompletedProcess[str], str, list[str]]:
    mark = scenario.proxy_mark()
    done = scenario.doit("image")
    assert done.returncode == 0, done.stdout + done.stderr
    return done, _built_tag(done.stdout), scenario.proxy_requests(mark)


def test_builds_from_local_bases_and_downloads_through_the_proxy(
    scenario: Scenario, first_build: tuple[subprocess.CompletedProcess[str], str, list[str]]
) -> None:
    done, tag, requests = first_build
    version = f"v1.0.{scenario.stamp}"
    zips = [r for r in requests if r.startswith(f"GET /example.test/greet/@v/{version}.zip 200")]
    assert zips, requests
    # the module is in the image, as go.sum says: verified with no network and no proxy
    out = _run(
        tag,
        "ls /cache/go-mod/example.test/ && GOPROXY=off go mod verify && echo VERIFIED",
        scenario.root,
    )
    assert f"greet@{version}" in out
    assert out.strip().endswith("VERIFIED")
    assert "with built-in BuildKit" in done.stdout or "with buildx" in done.stdout


def test_uv_installed_exactly_the_locked_versions(
    scenario: Scenario, first_build: tuple[subprocess.CompletedProcess[str], str, list[str]]
) -> None:
    _, tag, _ = first_build
    lock = tomllib.loads((scenario.root / "uv.lock").read_text())
    packages = [p for p in lock["package"] if p["name"] != "scenario-app"]
    locked = {_normal(p["name"]): p["version"] for p in packages}
    listing = _run(
        tag,
        "python -c 'import importlib.metadata as m; "
        '[print(d.metadata["Name"], d.version) for d in m.distributions()]\'',
    )
    installed = {_normal(name): version for name, version in map(str.split, listing.splitlines())}
    assert {name: locked.get(name) for name in installed} == installed
    # what is locked but not installed is only for other platforms (a marker on every use)
    skipped = set(locked) - set(installed)
    uses = [d for p in lock["package"] for group in _dependency_lists(p) for d in group]
    assert skipped <= {"colorama"}, skipped
    assert all("marker" in d for d in uses if _normal(d["name"]) in skipped)
    assert _run(tag, "command -v python doit; id -u").split() == [
        "/opt/venv/bin/python",
        "/opt/venv/bin/doit",
        "1000",
    ]


def test_second_image_builds_nothing_fast_and_without_docker_py(
    scenario: Scenario, first_build: tuple[subprocess.CompletedProcess[str], str, list[str]]
) -> None:
    done, seconds = scenario.doit_timed("image")
    assert done.returncode == 0, done.stderr
    assert "0 ran, 1 up to date" in done.stdout
    assert seconds < 1.0
    # the no-op path never imports docker-py (~0.4 s)
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", DOIT, "-f", "docker_tasks.py", "image"],
        cwd=scenario.root,
        env=scenario.project.env(**scenario.env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert traced.returncode == 0, traced.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in traced.stderr.splitlines()}
    assert "conjure.docker._engine" in imported
    assert not {name for name in imported if name == "docker" or name.startswith("docker.")}


def test_go_sum_change_rebuilds_from_go_deps_with_the_module_cache_warm(
    scenario: Scenario, first_build: tuple[subprocess.CompletedProcess[str], str, list[str]]
) -> None:
    _, first_tag, _ = first_build
    new = f"v1.1.{scenario.stamp}"
    scenario.require(new)
    mark = scenario.proxy_mark()
    done = scenario.doit("image")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _built_tag(done.stdout) != first_tag
    steps = built_steps(done.stdout)
    assert step(steps, "go-deps", "go mod download") == "DONE"
    assert step(steps, "python", "--no-install-project") == "CACHED"
    requests = scenario.proxy_requests(mark)
    fetched = {r.split()[1].rsplit("/", 1)[-1] for r in requests if ".zip" in r}
    # only the new version came through the proxy: the old one was in the cache mount
    assert fetched == {f"{new}.zip"}, requests


def test_python_file_change_does_not_rerun_go_mod_download(scenario: Scenario) -> None:
    package = scenario.root / "app" / "__init__.py"
    package.write_text(package.read_text() + "\nFAREWELL = 'bye'\n")
    mark = scenario.proxy_mark()
    done = scenario.doit("image")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = built_steps(done.stdout)
    assert step(steps, "go-deps", "go mod download") == "CACHED"
    assert step(steps, "[python ", "COPY . ") == "DONE"
    assert scenario.proxy_requests(mark) == []


def test_secrets_were_used_and_are_in_no_layer_nor_history(
    scenario: Scenario,
    secrets: dict[str, str],
    first_build: tuple[subprocess.CompletedProcess[str], str, list[str]],
) -> None:
    _, tag, _ = first_build
    # (Go sends netrc credentials over https only, so the local http proxy cannot show them)
    client = docker.from_env()
    image = client.images.get(tag)
    history = repr(image.history()) + repr(image.attrs)
    needles = [secrets["token"].encode(), secrets["marker"].encode()]
    for needle in needles:
        assert needle.decode() not in history
    container = client.containers.create(tag)
    try:
        found = _search_export(container.export(), needles)
    finally:
        container.remove()
    assert found == set()


def _search_export(chunks: object, needles: list[bytes]) -> set[bytes]:
    stream = io.BufferedReader(_ChunkReader(chunks))  # type: ignore[arg-type]
    found = set()
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            data = handle.read() if handle else b""
            found |= {n for n in needles if n in data}
    return found


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: object) -> None:
        self._chunks = iter(chunks)  # type: ignore[call-overload]
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def test_goproxy_off_fails_the_build(
    ci: dict[str, str], secrets: dict[str, str], tmp_path: Path
) -> None:
    stamp = int(tmp_path.stat().st_ino)
    scene = make_scenario(tmp_path / "app", ci, stamp, {"cacert": secrets["cacert"]})
    scene.require(f"v1.2.{stamp}")  # never downloaded by a build: not in the cache mount
    done = scene.doit("image", SCENARIO_GOPROXY="off")
    assert done.returncode == 1, done.stdout
    assert "GOPROXY=off" in done.stdout + done.stderr
    assert "image build failed" in done.stdout + done.stderr
    shutil.rmtree(tmp_path / "app")
