"""The shared remote cache (Bazel HTTP protocol) against real servers on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cache.conftest import Repo, snapshot
from tests.cache.servers import faulty_server, free_port, nginx_dav


@pytest.fixture
def dav(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with nginx_dav(tmp_path / "nginx") as server:
        yield server


def test_two_machines_share_results_through_the_remote(
    repo: Repo, tmp_path: Path, dav: tuple[str, Path]
) -> None:
    url, data = dav
    writer = repo.clone(tmp_path / "machine-a", with_cache=False)
    r = writer.run(CONJURE_REMOTE=url, CONJURE_REMOTE_WRITE="1")
    assert r.returncode == 0, r.stderr
    assert writer.executed() == ["gen", "use", "check"]
    assert len(list((data / "ac").iterdir())) == 2  # gen and use; check has no targets
    reader = repo.clone(tmp_path / "machine-b", with_cache=False)
    r = reader.run("-v", "2", CONJURE_REMOTE=url)
    assert r.returncode == 0, r.stderr
    assert reader.executed() == ["check"]  # check has no targets: it runs on each machine
    assert "restored from the remote cache" in r.stdout
    assert snapshot(reader.root) == snapshot(writer.root)
    again = repo.clone(tmp_path / "machine-b2", with_cache=False)
    again.run(CONJURE_REMOTE=url)
    assert snapshot(again.root) == snapshot(writer.root)


def test_without_remote_write_nothing_is_uploaded(
    repo: Repo, tmp_path: Path, dav: tuple[str, Path]
) -> None:
    url, data = dav
    r = repo.run(CONJURE_REMOTE=url)
    assert r.returncode == 0, r.stderr
    assert not data.exists() or not any(data.rglob("*"))


def test_signed_entries_need_the_right_key(
    repo: Repo, tmp_path: Path, dav: tuple[str, Path]
) -> None:
    url, _ = dav
    signed = {"CONJURE_REMOTE": url, "CONJURE_REMOTE_HMAC_KEY": "team-secret"}
    writer = repo.clone(tmp_path / "a", with_cache=False)
    assert writer.run(CONJURE_REMOTE_WRITE="1", **signed).returncode == 0
    wrong = repo.clone(tmp_path / "wrong", with_cache=False)
    r = wrong.run(CONJURE_REMOTE=url, CONJURE_REMOTE_HMAC_KEY="guess")
    assert r.returncode == 0, r.stderr
    assert wrong.executed() == ["gen", "use", "check"]  # wrongly signed: a miss, never a hit
    right = repo.clone(tmp_path / "right", with_cache=False)
    assert right.run(**signed).returncode == 0
    assert right.executed() == ["check"]


def test_unsigned_entries_are_a_miss_when_signing_is_on(
    repo: Repo, tmp_path: Path, dav: tuple[str, Path]
) -> None:
    url, _ = dav
    unsigned = repo.clone(tmp_path / "a", with_cache=False)
    assert unsigned.run(CONJURE_REMOTE=url, CONJURE_REMOTE_WRITE="1").returncode == 0
    strict = repo.clone(tmp_path / "b", with_cache=False)
    assert strict.run(CONJURE_REMOTE=url, CONJURE_REMOTE_HMAC_KEY="k").returncode == 0
    assert strict.executed() == ["gen", "use", "check"]


def test_tampered_remote_blob_is_never_restored(
    repo: Repo, tmp_path: Path, dav: tuple[str, Path]
) -> None:
    url, data = dav
    writer = repo.clone(tmp_path / "a", with_cache=False)
    assert writer.run(CONJURE_REMOTE=url, CONJURE_REMOTE_WRITE="1").returncode == 0
    for blob in (data / "cas").iterdir():
        blob.write_bytes(b"poisoned " + blob.read_bytes())
    reader = repo.clone(tmp_path / "b", with_cache=False)
    r = reader.run(CONJURE_REMOTE=url)
    assert r.returncode == 0, r.stderr
    assert reader.executed() == ["gen", "use", "check"]
    assert snapshot(reader.root) == snapshot(writer.root)
    assert "wrong content" in r.stdout


@pytest.mark.parametrize("mode", ["500", "hang", "close"])
def test_a_failing_server_costs_one_timeout_and_one_warning(repo: Repo, mode: str) -> None:
    with faulty_server(mode) as (url, server):
        started = time.time()
        r = repo.run(CONJURE_REMOTE=url, CONJURE_REMOTE_TIMEOUT="1", CONJURE_REMOTE_WRITE="1")
        elapsed = time.time() - started
    assert r.returncode == 0, r.stderr
    assert repo.executed() == ["gen", "use", "check"]
    assert r.stdout.count("remote cache") == 1, r.stdout
    assert "continuing with the local cache only" in r.stdout
    assert server.requests <= 2  # turned off after the first failure
    assert elapsed < 10
    r = repo.run(CONJURE_REMOTE=url)  # local results need no network at all
    assert r.returncode == 0


def test_a_dead_server_is_one_warning(repo: Repo) -> None:
    url = f"http://127.0.0.1:{free_port()}/cache"
    r = repo.run(CONJURE_REMOTE=url)
    assert r.returncode == 0, r.stderr
    assert "ConnectionError" in r.stdout and r.stdout.count("remote cache") == 1


def test_local_hits_do_not_touch_the_network(repo: Repo, tmp_path: Path) -> None:
    assert repo.run().returncode == 0
    (repo.root / "out" / "upper.txt").unlink()
    with faulty_server("hang") as (url, server):
        r = repo.run(CONJURE_REMOTE=url, CONJURE_REMOTE_TIMEOUT="5")
    assert r.returncode == 0, r.stderr
    assert server.requests == 0
    assert (repo.root / "out" / "upper.txt").exists()


def test_invalid_remote_url_is_a_configuration_error(repo: Repo) -> None:
    r = repo.run(CONJURE_REMOTE="ftp://example")
    assert r.returncode == 2
    assert "invalid remote" in r.stderr
