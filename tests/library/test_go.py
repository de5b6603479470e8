"""conjure.go on the real Go toolchain: exact file deps, params, test reports, go list cache."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

from tests.conftest import Project
from tests.library.conftest import last_run, logging_go, requires_go

pytestmark = requires_go

DODO = """
from conjure import go

def task_build():
    for cmd in ("server", "worker"):
        yield go.build(f"./cmd/{cmd}", name=cmd, x=go.git_stamp("example.com/polyglot/internal/version"))

def task_test_go():
    return go.test(short=True, report="cache/go-test.json", basename="test-go")
"""


def _append(project: Project, relative: str, text: str = "\n// edited\n") -> None:
    with (project.root / relative).open("a") as handle:
        handle.write(text)


def test_editing_a_test_file_reruns_tests_but_not_the_build(workspace: Project) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("build", "test-go")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (workspace.root / "bin" / "server").is_file()

    _append(workspace, "internal/render/render_test.go")
    r = workspace.doit("build", "test-go")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, up_to_date = last_run(workspace)
    assert "test-go" in ran
    assert {"build:server", "build:worker"} <= up_to_date


def test_editing_one_package_rebuilds_only_the_binaries_importing_it(workspace: Project) -> None:
    workspace.dodo(DODO)
    assert workspace.doit("build").returncode == 0

    _append(workspace, "internal/render/render.go")  # imported by cmd/worker only
    r = workspace.doit("build")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, up_to_date = last_run(workspace)
    assert "build:worker" in ran
    assert "build:server" in up_to_date

    _append(workspace, "web/static/style.css", "\n/* edited */\n")  # embedded by the server
    r = workspace.doit("build")
    ran, up_to_date = last_run(workspace)
    assert "build:server" in ran
    assert "build:worker" in up_to_date


def test_version_is_stamped_and_a_changed_go_env_rebuilds(workspace: Project) -> None:
    workspace.dodo(DODO)
    assert workspace.doit("build:worker").returncode == 0
    done = subprocess.run(
        [str(workspace.root / "bin" / "worker"), "-version"], capture_output=True, text=True
    )
    assert "dev" in done.stdout + done.stderr  # git_stamp outside a checkout
    r = workspace.doit("build:worker", GOFLAGS="-mod=mod")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, _ = last_run(workspace)
    assert "build:worker" in ran  # GOFLAGS is part of the definition


def test_go_test_report_has_per_test_results_and_durations(workspace: Project) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("test-go")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok   example.com/polyglot/internal/render" in r.stdout
    report = json.loads((workspace.root / "cache" / "go-test.json").read_text())
    tests = {(t["package"], t["test"]): t for t in report["tests"]}
    slow = tests[("example.com/polyglot/internal/render", "TestSlowRender")]
    assert slow["result"] == "skip"  # -short
    assert report["totals"]["pass"] > 10
    assert all(t["seconds"] >= 0 for t in report["tests"])


def test_run_param_selects_tests_and_a_failing_test_is_named(workspace: Project) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("test-go", "--run", "TestLifeCycle", "--no-short")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((workspace.root / "cache" / "go-test.json").read_text())
    assert report["tests"] and all("LifeCycle" in t["test"] for t in report["tests"])

    workspace.write(
        "internal/jobs/broken_test.go",
        'package jobs\n\nimport "testing"\n\nfunc TestBroken(t *testing.T) { t.Fatal("boom") }\n',
    )
    r = workspace.doit("test-go")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAIL example.com/polyglot/internal/jobs" in r.stdout
    assert "boom" in r.stdout


def test_go_list_runs_once_until_a_go_file_changes(workspace: Project, tmp_path: Path) -> None:
    workspace.dodo(DODO)
    log = tmp_path / "go-calls.txt"
    path = logging_go(tmp_path, log)
    assert workspace.doit("list", PATH=path).returncode == 0
    assert log.read_text().split().count("list") == 1
    assert workspace.doit("list", PATH=path).returncode == 0
    assert log.read_text().split().count("list") == 1  # from cache/go-list/
    _append(workspace, "internal/jobs/job.go")
    assert workspace.doit("list", PATH=path).returncode == 0
    assert log.read_text().split().count("list") == 2


def test_missing_go_is_one_line_and_exit_2(workspace: Project, tmp_path: Path) -> None:
    workspace.dodo(DODO)
    r = workspace.doit("list", PATH=str(tmp_path / "empty"))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "go not found: install Go >= 1.22, or run this inside the dev container" in r.stderr
    assert "Traceback" not in r.stderr


COVER_DODO = """
from conjure import go

def task_test_go():
    return go.test("./internal/render", short=True, cover="cache/cover.out", basename="test-go")

def task_cover_html():
    return go.tool(
        "cover", "-html=cache/cover.out", "-o", "cache/cover.html",
        inputs=["cache/cover.out"], outputs=["cache/cover.html"], basename="cover-html",
    )
"""


def test_go_tool_runs_a_toolchain_tool_on_another_tasks_output(workspace: Project) -> None:
    workspace.dodo(COVER_DODO)
    r = workspace.doit("cover-html")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, _ = last_run(workspace)
    assert {"test-go", "cover-html"} <= ran  # the profile's producer ran first
    assert "render.go" in (workspace.root / "cache" / "cover.html").read_text()
    r = workspace.doit("cover-html")
    ran, up_to_date = last_run(workspace)
    assert not ran and {"test-go", "cover-html"} <= up_to_date


GENSTATUS_DODO = """
from conjure import go

def task_gen_status():
    return go.tool(
        "genstatus", "-type", "Status", "-in", "internal/jobs/status.go",
        "-out", "cache/status_string.go",
        inputs=["internal/jobs/status.go"], outputs=["cache/status_string.go"],
        basename="gen-status",
    )
"""


def test_go_tool_runs_a_tool_directive_and_reruns_when_the_tool_changes(
    workspace: Project,
) -> None:
    workspace.write(
        "go.mod",
        "module example.com/polyglot\n\ngo 1.24\n\n"
        "tool example.com/polyglot/internal/tools/genstatus\n",
    )
    workspace.dodo(GENSTATUS_DODO)
    r = workspace.doit("gen-status")
    assert r.returncode == 0, r.stdout + r.stderr
    generated = (workspace.root / "cache" / "status_string.go").read_bytes()
    assert generated == (workspace.root / "internal/jobs/status_string.go").read_bytes()

    _append(workspace, "internal/render/render.go")  # not the tool's
    assert workspace.doit("gen-status").returncode == 0
    _, up_to_date = last_run(workspace)
    assert "gen-status" in up_to_date
    _append(workspace, "internal/tools/genstatus/main.go")
    assert workspace.doit("gen-status").returncode == 0
    ran, _ = last_run(workspace)
    assert "gen-status" in ran


DEP = "example.com/dep"


def _h1(files: dict[str, bytes]) -> str:
    """Go's ``h1:`` hash of a file set (golang.org/x/mod/sumdb/dirhash.Hash1)."""
    lines = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    )
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


def _publish(proxy: Path, version: str) -> str:
    """Puts ``example.com/dep@version`` into a GOPROXY folder; returns its go.sum lines."""
    folder = proxy / DEP / "@v"
    folder.mkdir(parents=True, exist_ok=True)
    mod = f"module {DEP}\n\ngo 1.22\n".encode()
    files = {f"{DEP}@{version}/go.mod": mod, f"{DEP}@{version}/dep.go": b"package dep\n"}
    with zipfile.ZipFile(folder / f"{version}.zip", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    (folder / f"{version}.mod").write_bytes(mod)
    (folder / f"{version}.info").write_text(json.dumps({"Version": version}))
    with (folder / "list").open("a") as listed:
        listed.write(version + "\n")
    return f"{DEP} {version} {_h1(files)}\n{DEP} {version}/go.mod {_h1({'go.mod': mod})}\n"


def test_mod_download_fetches_what_go_mod_requires(tmp_path: Path) -> None:
    proxy, cache = tmp_path / "proxy", tmp_path / "modcache"
    sums = _publish(proxy, "v1.0.0") + _publish(proxy, "v1.1.0")
    project = Project(tmp_path / "m")
    project.write("go.mod", f"module example.com/m\n\ngo 1.22\n\nrequire {DEP} v1.0.0\n")
    project.write("go.sum", sums)  # checked by go: a wrong sum fails the download
    project.write("main.go", "package main\n\nfunc main() {}\n")
    project.dodo("from conjure import go\n\ndef task_mod():\n    return go.mod_download()\n")
    env = {"GOPROXY": proxy.as_uri(), "GOMODCACHE": str(cache), "GOFLAGS": "-modcacherw"}
    zips = cache / "cache" / "download" / DEP / "@v"
    assert project.doit("list", **env).returncode == 0
    assert not zips.exists()  # go list alone fetched nothing
    r = project.doit("mod", **env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (zips / "v1.0.0.zip").is_file() and (cache / f"{DEP}@v1.0.0" / "dep.go").is_file()
    assert project.doit("mod", **env).returncode == 0
    assert "mod" in last_run(project)[1]
    project.write("go.mod", f"module example.com/m\n\ngo 1.22\n\nrequire {DEP} v1.1.0\n")
    assert project.doit("mod", **env).returncode == 0
    assert "mod" in last_run(project)[0]
    assert (zips / "v1.1.0.zip").is_file()


GENERATE_DODO = """
from conjure import go

def task_generate():
    return go.generate(
        "./internal/jobs",
        outputs=["internal/jobs/status_string.go"],
        uses=["./internal/tools/genstatus"],
    )
"""


def test_generate_reruns_when_its_source_or_tool_changes(workspace: Project) -> None:
    workspace.dodo(GENERATE_DODO)
    committed = (workspace.root / "internal/jobs/status_string.go").read_bytes()
    assert workspace.doit("generate").returncode == 0
    assert (workspace.root / "internal/jobs/status_string.go").read_bytes() == committed
    _append(workspace, "internal/render/render.go")  # neither the package nor the tool
    assert workspace.doit("generate").returncode == 0
    assert "generate" in last_run(workspace)[1]
    _append(workspace, "internal/tools/genstatus/main.go")
    assert workspace.doit("generate").returncode == 0
    assert "generate" in last_run(workspace)[0]


def test_go_list_cache_follows_the_dodo_cache_dir(workspace: Project) -> None:
    workspace.dodo(DODO, config='cache_dir="build/state"')
    r = workspace.doit("list")
    assert r.returncode == 0, r.stdout + r.stderr
    assert list((workspace.root / "build" / "state" / "go-list").glob("*.json"))
    assert not (workspace.root / "cache" / "go-list").exists()
