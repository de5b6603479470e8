"""Restoring outputs from the local cache: fresh clones, archives, damaged entries, opt-outs."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests.cache.conftest import Repo, snapshot


def _manifests(root: Path) -> list[Path]:
    return sorted((root / "cache" / "ac").glob("*/*.json"))


def _blob_of(root: Path, task: str, path: str) -> Path:
    for manifest in _manifests(root):
        data = json.loads(manifest.read_text())
        if data["task"] == task:
            digest = next(e["digest"] for e in data["entries"] if e["path"] == path)
            return root / "cache" / "cas" / digest[:2] / digest
    raise AssertionError(f"no entry for {task}")


def test_first_run_stores_outputs_of_tasks_with_targets(repo: Repo) -> None:
    r = repo.run()
    assert r.returncode == 0, r.stderr
    assert repo.executed() == ["gen", "use", "check"]
    tasks = sorted(json.loads(p.read_text())["task"] for p in _manifests(repo.root))
    assert tasks == ["gen", "use"]  # check has no targets: never stored


def test_fresh_clone_with_cache_folder_runs_nothing_and_restores_outputs(
    repo: Repo, tmp_path: Path
) -> None:
    assert repo.run().returncode == 0
    repo.executed()
    expected = snapshot(repo.root)
    clone = repo.clone(tmp_path / "clone")
    assert not (clone.root / "out").exists()
    r = clone.run("-v", "2")
    assert r.returncode == 0, r.stderr
    assert clone.executed() == []
    assert snapshot(clone.root) == expected  # byte-identical, same modes
    assert "cached| generated the outputs" in r.stdout  # the log is replayed
    assert "0 ran, 2 cached, 1 up to date, 0 failed" in r.stdout


def test_same_inputs_give_the_same_key_in_another_folder(repo: Repo, tmp_path: Path) -> None:
    assert repo.run().returncode == 0
    clone = repo.clone(tmp_path / "elsewhere", with_cache=False)
    assert clone.run().returncode == 0
    assert [p.name for p in _manifests(clone.root)] == [p.name for p in _manifests(repo.root)]


@pytest.mark.parametrize("suffix", [".tar.zst", ".tar.gz"])
def test_export_import_round_trip_restores_everything(
    repo: Repo, tmp_path: Path, suffix: str
) -> None:
    assert repo.run().returncode == 0
    repo.executed()
    archive = tmp_path / f"cache{suffix}"
    r = repo.run("cache", "export", str(archive))
    assert r.returncode == 0, r.stderr
    clone = repo.clone(tmp_path / "ci", with_cache=False)
    r = clone.run("cache", "import", str(archive))
    assert r.returncode == 0, r.stderr
    r = clone.run()
    assert r.returncode == 0, r.stderr
    assert clone.executed() == []
    assert snapshot(clone.root) == snapshot(repo.root)


def test_import_refuses_paths_that_escape_the_cache(repo: Repo, tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("pwned")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname="ac/ok.json")
        tar.add(payload, arcname="../../escaped.txt")
    r = repo.run("cache", "import", str(evil))
    assert r.returncode == 2
    assert "refusing member '../../escaped.txt'" in r.stderr
    assert not (tmp_path / "escaped.txt").exists()
    assert not (repo.root / "cache" / "ac" / "ok.json").exists()  # nothing written at all


def test_import_refuses_links(repo: Repo, tmp_path: Path) -> None:
    evil = tmp_path / "link.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        link = tarfile.TarInfo("cas/ab/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    r = repo.run("cache", "import", str(evil))
    assert r.returncode == 2
    assert "only files and folders may be imported" in r.stderr


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_damaged_blob_is_reported_set_aside_and_the_task_runs(
    repo: Repo, tmp_path: Path, damage: str
) -> None:
    assert repo.run().returncode == 0
    repo.executed()
    expected = snapshot(repo.root)
    clone = repo.clone(tmp_path / "clone")
    blob = _blob_of(clone.root, "gen", "out/upper.txt")
    data = blob.read_bytes()
    blob.chmod(0o644)
    if damage == "flip":
        blob.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    elif damage == "truncate":
        blob.write_bytes(data[:3])
    else:
        blob.unlink()
    r = clone.run()
    assert r.returncode == 0, r.stderr
    assert clone.executed() == ["gen"]  # use: a hit (same key); check: up to date
    assert snapshot(clone.root) == expected  # never the damaged content
    word = "missing" if damage == "delete" else "corrupt"
    assert f"cache blob {blob.name[:12]} is {word}" in r.stdout
    if damage != "delete":
        assert list((clone.root / "cache" / "corrupt").iterdir())


def test_damaged_manifest_is_set_aside_and_the_task_runs(repo: Repo, tmp_path: Path) -> None:
    assert repo.run().returncode == 0
    repo.executed()
    clone = repo.clone(tmp_path / "clone")
    for manifest in _manifests(clone.root):
        manifest.write_text('{"version": 1, "key": "tru')
    r = clone.run()
    assert r.returncode == 0, r.stderr
    assert clone.executed() == ["gen", "use"]  # check: same final.txt, up to date
    assert "damaged cache manifest" in r.stdout


def test_cache_false_opts_out(repo: Repo) -> None:
    repo.dodo(
        """
        def task_gen():
            return {"file_dep": ["in.txt"], "targets": ["x.txt"], "cache": False,
                    "actions": ["cp in.txt x.txt"]}
        """
    )
    assert repo.run().returncode == 0
    assert _manifests(repo.root) == []


def test_restored_target_that_was_edited_is_put_back(repo: Repo) -> None:
    assert repo.run().returncode == 0
    repo.executed()
    (repo.root / "out" / "upper.txt").write_text("edited by hand\n")
    (repo.root / "out" / "pages" / "stray.html").write_text("not gen's\n")
    r = repo.run()
    assert r.returncode == 0, r.stderr
    assert repo.executed() == []  # gen restored from the cache; use and check unchanged
    assert (repo.root / "out" / "upper.txt").read_text() == "HELLO CACHE\n"
    assert not (repo.root / "out" / "pages" / "stray.html").exists()


def test_explain_shows_the_key_and_the_part_that_changed(repo: Repo) -> None:
    assert repo.run().returncode == 0
    (repo.root / "in.txt").write_text("changed\n")
    r = repo.run("explain", "gen")
    assert r.returncode == 0, r.stderr
    assert "cache key: " in r.stdout and "(miss: not in the local cache)" in r.stdout
    assert "key parts changed since the last stored entry" in r.stdout
    assert r.stdout.split("stored entry", 1)[1].split("\n")[0].endswith(": inputs")


def test_going_back_to_earlier_inputs_is_a_cache_hit(repo: Repo) -> None:
    assert repo.run().returncode == 0
    (repo.root / "in.txt").write_text("second version\n")
    assert repo.run().returncode == 0
    repo.executed()
    (repo.root / "in.txt").write_text("hello cache\n")
    r = repo.run()
    assert r.returncode == 0, r.stderr
    assert repo.executed() == ["check"]  # gen and use come back from the cache
    assert (repo.root / "final.txt").read_text() == "HELLO CACHE\nHELLO CACHE\n"


def test_cache_commands(repo: Repo) -> None:
    assert repo.run().returncode == 0
    stats = repo.run("cache", "stats")
    assert stats.returncode == 0, stats.stderr
    assert "entries:   2" in stats.stdout
    key = repo.run("cache", "key")
    assert key.stdout.startswith("conjure-") and len(key.stdout.strip().split("-")[-1]) == 16
    verify = repo.run("cache", "verify")
    assert verify.returncode == 0 and "no problem(s)" in verify.stdout
    blob = _blob_of(repo.root, "gen", "out/upper.txt")
    blob.chmod(0o644)
    blob.write_bytes(b"garbage")
    verify = repo.run("cache", "verify")
    assert verify.returncode == 1
    assert "is corrupt" in verify.stdout and "lacks 1 blob(s)" in verify.stdout
    cleared = repo.run("cache", "clear")
    assert cleared.returncode == 0
    assert _manifests(repo.root) == []
    bad = repo.run("cache", "prune", "--max-size", "lots")
    assert bad.returncode == 2 and "invalid --max-size 'lots'" in bad.stderr


def test_cache_key_changes_with_a_lockfile(repo: Repo) -> None:
    before = repo.run("cache", "key").stdout
    repo.write("uv.lock", "version = 1\n")
    from tests.cache.conftest import git

    git(repo.root, "add", "uv.lock")
    assert repo.run("cache", "key").stdout != before


def test_python_action_calling_a_project_helper_reruns_when_the_helper_changes(
    repo: Repo,
) -> None:
    repo.write("helpers.py", "def render(text):\n    return text.upper()\n")
    repo.dodo(
        """
        import helpers

        def build(targets):
            with open(targets[0], "w") as out:
                out.write(helpers.render(open("in.txt").read()))

        def task_py():
            return {"file_dep": ["in.txt"], "targets": ["py.txt"], "actions": [build]}
        """
    )
    assert repo.run().returncode == 0
    assert (repo.root / "py.txt").read_text() == "HELLO CACHE\n"
    repo.write("helpers.py", "def render(text):\n    return text.title()\n")
    r = repo.run("-v", "2")
    assert r.returncode == 0, r.stderr
    assert "definition changed" in r.stdout
    assert (repo.root / "py.txt").read_text() == "Hello Cache\n"


def test_concurrent_writers_of_one_key_leave_a_valid_cache(repo: Repo, tmp_path: Path) -> None:
    shared = tmp_path / "shared-cache"
    clones = [repo.clone(tmp_path / f"c{i}", with_cache=False) for i in range(2)]
    procs = [c.start(CONJURE_CACHE_DIR=str(shared), EXEC_LOG=str(c.log)) for c in clones]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    verify = clones[0].run("cache", "verify", CONJURE_CACHE_DIR=str(shared))
    assert verify.returncode == 0 and "no problem(s)" in verify.stdout, verify.stdout
    fresh = repo.clone(tmp_path / "fresh", with_cache=False)
    r = fresh.run(CONJURE_CACHE_DIR=str(shared))
    assert r.returncode == 0, r.stderr
    assert fresh.executed() == []  # outputs restored; check is up to date in the shared state
    assert snapshot(fresh.root) == snapshot(clones[0].root) == snapshot(clones[1].root)


def test_the_cache_is_kept_under_its_size_limit(repo: Repo) -> None:
    limit = "2500"  # bytes: room for one version of the outputs (about 1.7 kB), not two
    assert repo.run(CONJURE_CACHE_MAX_SIZE=limit).returncode == 0
    first = {p.name for p in _manifests(repo.root)}
    (repo.root / "in.txt").write_text("second input\n")
    r = repo.run(CONJURE_CACHE_MAX_SIZE=limit)
    assert r.returncode == 0, r.stderr
    assert "least recently used entries" in r.stdout
    remaining = {p.name for p in _manifests(repo.root)}
    assert remaining and not (first & remaining)  # the older entries went first
