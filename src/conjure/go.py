"""Go task factories for a dodo.py: build, test, vet, fmt_check, generate, mod_download, tool.

Each factory returns a doit task dict; extra keyword arguments (``name``, ``basename``,
``doc``, ``task_dep``, ``timeout``, ``pool``...) are added to it::

    from conjure import go

    def task_build():
        for cmd in ("server", "worker"):
            yield go.build(f"./cmd/{cmd}", name=cmd, x=go.git_stamp("example.com/m/version"))

    def task_test_go():
        return go.test("./...", short=True, report="cache/go-test.json")

File dependencies come from ``go list`` (cached, see ``conjure._golist``): a binary depends on
the files of the module's packages it imports, a test task also on test files and
``testdata/``. The Go version and ``GOFLAGS``, ``CGO_ENABLED``, ``GOOS``, ``GOARCH``,
``GOEXPERIMENT``, ``GOTOOLCHAIN`` are part of each task's definition. Paths are relative to the
dodo.py folder; ``module`` names the folder holding ``go.mod``. A missing ``go`` raises
``ConfigError`` (exit code 2).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from doit.action import CmdAction
from doit.exceptions import TaskFailed

from conjure import _golist
from conjure._golist import Listing, Package
from conjure._tasks import finish
from conjure._version import __version__
from conjure.errors import ConfigError

__all__ = [
    "build",
    "fmt_check",
    "generate",
    "git_stamp",
    "listing",
    "mod_download",
    "test",
    "tool",
    "vet",
]

Task = dict[str, Any]


@functools.cache
def _load(module: str, tags: tuple[str, ...], env: tuple[tuple[str, str | None], ...]) -> Listing:
    return _golist.load(module, tags, dict(env))


def listing(
    module: str = ".", tags: Iterable[str] = (), env: Mapping[str, str | None] | None = None
) -> Listing:
    """The module's packages as ``go list`` sees them (cached on disk and per process).

    Raises:
        ConfigError: ``go`` is missing or ``go list`` failed.
    """
    goenv = _golist.go_environment(env)
    return _load(module, tuple(sorted(set(tags))), tuple(sorted(goenv.items())))


def _overrides(
    cgo: bool | None = None, goos: str | None = None, goarch: str | None = None
) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    if cgo is not None:
        found["CGO_ENABLED"] = "1" if cgo else "0"
    if goos:
        found["GOOS"] = goos
    if goarch:
        found["GOARCH"] = goarch
    return found


def _command(argv: Sequence[str], toolchain: str) -> list[str]:
    """A Go command's argv; ``toolchain`` is only there to be part of the definition."""
    del toolchain
    return list(argv)


def _action(argv: Sequence[str], module: str, found: Listing) -> CmdAction:
    toolchain = f"{found.go_version} conjure {__version__}"
    return CmdAction((_command, (tuple(argv), toolchain), {}), cwd=module)


def _in_module(module: str, path: str) -> str:
    return path if module in ("", ".") else Path(module, path).as_posix()


def _module_files(module: str) -> list[str]:
    return [
        _in_module(module, name) for name in ("go.mod", "go.sum") if Path(module, name).is_file()
    ]


def _resolve(found: Listing, module: str, pattern: str) -> list[Package]:
    """Packages matching ``./x``, ``./x/...``, ``./...`` or an import path."""
    recursive = pattern.endswith("/...") or pattern == "..."
    base = pattern[: -len("/...")] if pattern.endswith("/...") else pattern
    if base in ("", ".", "..."):
        prefix = found.path
    elif base.startswith("./"):
        folder = base[2:].strip("/")
        prefix = found.path if folder in ("", ".") else f"{found.path}/{folder}"
    else:
        prefix = base
    matched = [
        pkg
        for path, pkg in sorted(found.packages.items())
        if path == prefix or (recursive and path.startswith(prefix + "/"))
    ]
    if not matched:
        raise ConfigError(f"{module}: no Go package matches {pattern!r}")
    return matched


def _deps_files(found: Listing, module: str, packages: Iterable[Package], tests: bool) -> list[str]:
    files: set[str] = set()
    for pkg in packages:
        files.update(pkg.build_files)
        if tests:
            files.update(pkg.test_files)
        for dep in pkg.test_deps if tests else pkg.deps:
            files.update(found.packages[dep].build_files)
    return sorted({*(_in_module(module, f) for f in files), *_module_files(module)})


def _tags(tags: Iterable[str]) -> list[str]:
    tag_list = sorted(set(tags))
    return ["-tags", ",".join(tag_list)] if tag_list else []


def _relative(path: str, module: str) -> str:
    return os.path.relpath(path, module) if module not in ("", ".") else path


def build(
    package: str,
    output: str | None = None,
    *,
    module: str = ".",
    x: Mapping[str, str] | None = None,
    ldflags: Sequence[str] = (),
    tags: Iterable[str] = (),
    cgo: bool | None = None,
    goos: str | None = None,
    goarch: str | None = None,
    race: bool = False,
    trimpath: bool = True,
    **task: Any,
) -> Task:
    """A task building a main package into a binary.

    Args:
        package: the package (``./cmd/server`` or an import path).
        output: the binary, relative to the dodo.py folder; default ``bin/<last element>``
            (``.exe`` added for ``goos="windows"``).
        module: the folder holding ``go.mod``.
        x: ``-ldflags -X`` values (``{"example.com/m/version.Version": "v1.2.0"}``); see
            ``git_stamp``.
        ldflags: other ``-ldflags`` words (``-s``, ``-w``).
        tags: build tags.
        cgo: sets ``CGO_ENABLED`` (``None``: inherited from the environment).
        goos: cross-compile target OS.
        goarch: cross-compile target architecture.
        race: build with ``-race``.
        trimpath: build with ``-trimpath`` (reproducible paths).
        **task: more task keys (``name``, ``doc``, ``task_dep``, ``pool``...).
    """
    env = _golist.go_environment(_overrides(cgo, goos, goarch))
    found = listing(module, tags, env)
    (pkg,) = _resolve(found, module, package)[:1]
    if pkg.name != "main":
        raise ConfigError(f"go.build: {package} is package {pkg.name}, not a main package")
    suffix = ".exe" if (env.get("GOOS") or "") == "windows" else ""
    target = output or f"bin/{pkg.import_path.rsplit('/', 1)[-1]}{suffix}"
    flags = [*ldflags, *(f"-X {key}={value}" for key, value in sorted((x or {}).items()))]
    argv = ["go", "build", "-buildvcs=false", *_tags(tags)]
    argv += ["-trimpath"] * trimpath + ["-race"] * race
    argv += ["-ldflags", " ".join(flags)] if flags else []
    argv += ["-o", _relative(target, module), "./" + pkg.dir if pkg.dir != "." else "."]
    return finish(
        {
            "doc": f"go build -o {target} {package}",
            "actions": [_action(argv, module, found)],
            "file_dep": _deps_files(found, module, [pkg], tests=False),
            "targets": [target],
            "env": env,
            "clean": True,
        },
        task,
    )


def _test_argv(
    spec: tuple[tuple[str, ...], tuple[str, ...], str],
    run: str = "",
    race: bool = False,
    short: bool = False,
) -> list[str]:
    """The test command, with the task's params (``--run``, ``--race``, ``--short``)."""
    wrapper, go_args, toolchain = spec
    del toolchain
    argv = [sys.executable, "-m", "conjure._gotest", *wrapper, "--", "go", "test", "-json"]
    argv += ["-short"] * short + ["-race"] * race + (["-run", run] if run else [])
    return argv + list(go_args)


def test(
    *packages: str,
    module: str = ".",
    short: bool = False,
    race: bool = False,
    run: str = "",
    tags: Iterable[str] = (),
    cover: str | None = None,
    report: str | None = None,
    go_timeout: str | None = None,
    verbose: bool = False,
    **task: Any,
) -> Task:
    """A task running ``go test -json``, printing per-package results and failed tests.

    ``doit TASK --run TestFoo --race --no-short`` changes ``run``, ``race`` and ``short``
    for one run (params are part of the definition, so the next plain run re-runs).

    Args:
        *packages: package patterns; default ``./...``.
        module: the folder holding ``go.mod``.
        short: ``-short``.
        race: ``-race``.
        run: ``-run`` regular expression.
        tags: build tags.
        cover: coverage profile to write (``-coverprofile``), a target.
        report: JSON file with per-test results and durations, a target.
        go_timeout: ``go test -timeout`` (``"10m"``).
        verbose: one line per test, not only per package.
        **task: more task keys.
    """
    found = listing(module, tags)
    patterns = packages or ("./...",)
    selected = [pkg for pattern in patterns for pkg in _resolve(found, module, pattern)]
    go_args = [*_tags(tags), *(["-timeout", go_timeout] if go_timeout else [])]
    go_args += [f"-coverprofile={_relative(cover, module)}"] if cover else []
    wrapper = ["--report", _relative(report, module)] if report else []
    wrapper += ["--verbose"] if verbose else []
    toolchain = f"{found.go_version} conjure {__version__}"
    spec = (tuple(wrapper), (*go_args, *patterns), toolchain)
    return finish(
        {
            "doc": " ".join(
                [
                    "go test",
                    *["-short"] * short,
                    *["-race"] * race,
                    *go_args,
                    *(["-run", run] if run else []),
                    *patterns,
                ]
            ),
            "actions": [CmdAction((_test_argv, (spec,), {}), cwd=module)],
            "file_dep": _deps_files(found, module, selected, tests=True),
            "targets": [t for t in (cover, report) if t],
            "env": _golist.go_environment(),
            "params": [
                {
                    "name": "run",
                    "long": "run",
                    "type": str,
                    "default": run,
                    "help": "only tests matching this regular expression (go test -run)",
                },
                {
                    "name": "race",
                    "long": "race",
                    "type": bool,
                    "default": race,
                    "help": "enable the race detector",
                },
                {
                    "name": "short",
                    "long": "short",
                    "inverse": "no-short",
                    "type": bool,
                    "default": short,
                    "help": "go test -short",
                },
            ],
        },
        task,
    )


def vet(*packages: str, module: str = ".", tags: Iterable[str] = (), **task: Any) -> Task:
    """A task running ``go vet`` (test files included) on packages (default ``./...``)."""
    found = listing(module, tags)
    patterns = packages or ("./...",)
    selected = [pkg for pattern in patterns for pkg in _resolve(found, module, pattern)]
    return finish(
        {
            "doc": f"go vet {' '.join(patterns)}",
            "actions": [_action(["go", "vet", *_tags(tags), *patterns], module, found)],
            "file_dep": _deps_files(found, module, selected, tests=True),
            "env": _golist.go_environment(),
        },
        task,
    )


def _gofmt_check(module: str, files: Sequence[str]) -> TaskFailed | None:
    """Fails listing the files ``gofmt -l`` reports."""
    done = subprocess.run(
        ["gofmt", "-l", *files], cwd=module, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return TaskFailed(f"gofmt failed: {done.stderr.strip()}")
    listed = done.stdout.split()
    if listed:
        print("not gofmt-ed:\n" + "\n".join(f"  {name}" for name in listed))
        return TaskFailed(f"{len(listed)} files not gofmt-ed: {' '.join(listed)}")
    return None


def fmt_check(module: str = ".", **task: Any) -> Task:
    """A task failing when ``gofmt -l`` lists a file of the module (build tags ignored)."""
    found = listing(module)
    return finish(
        {
            "doc": "gofmt -l (fails when a file is listed)",
            "actions": [(_gofmt_check, (module, found.go_files), {})],
            "file_dep": [_in_module(module, f) for f in found.go_files],
        },
        task,
    )


def generate(
    *packages: str,
    outputs: Sequence[str],
    module: str = ".",
    uses: Sequence[str] = (),
    inputs: Sequence[str] = (),
    **task: Any,
) -> Task:
    """A task running ``go generate`` on packages, with the files it writes as targets.

    Args:
        *packages: package patterns holding ``//go:generate`` lines.
        outputs: the generated files, relative to the dodo.py folder.
        module: the folder holding ``go.mod``.
        uses: packages the directives run (``go run ./internal/tools/gen``): their files
            are inputs too.
        inputs: more input files (glob patterns, relative to the dodo.py folder).
        **task: more task keys.
    """
    from conjure.shell import files as glob_files

    found = listing(module)
    selected = [pkg for pattern in packages for pkg in _resolve(found, module, pattern)]
    tools = [pkg for pattern in uses for pkg in _resolve(found, module, pattern)]
    deps = set(_deps_files(found, module, tools, tests=False)) if tools else set()
    own = {f for pkg in selected for f in pkg.build_files if f.endswith(".go")}
    deps.update(_in_module(module, f) for f in own)
    deps.update(glob_files(*inputs))
    deps.difference_update(outputs)
    return finish(
        {
            "doc": f"go generate {' '.join(packages)}",
            "actions": [_action(["go", "generate", *packages], module, found)],
            "file_dep": sorted(deps),
            "targets": list(outputs),
        },
        task,
    )


def mod_download(module: str = ".", **task: Any) -> Task:
    """A task running ``go mod download`` when ``go.mod`` or ``go.sum`` change."""
    found = listing(module)
    return finish(
        {
            "doc": "go mod download",
            "actions": [_action(["go", "mod", "download"], module, found)],
            "file_dep": _module_files(module),
            "env": _golist.go_environment(),
        },
        task,
    )


def tool(
    name: str,
    *args: str,
    module: str = ".",
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    **task: Any,
) -> Task:
    """A task running ``go tool NAME ARGS`` (a tool of the toolchain or a ``tool`` directive).

    When ``go.mod`` has a ``tool`` directive for a package of this module whose path or last
    element is ``name``, that package's files are inputs too: editing the tool re-runs it.

    Args:
        name: the tool (``cover``, ``vet``, or a ``tool`` directive's path or last element).
        *args: its arguments (relative to the module folder).
        module: the folder holding ``go.mod``.
        inputs: input files (glob patterns relative to the dodo.py folder); without inputs
            the task always runs.
        outputs: files it writes, relative to the dodo.py folder.
        **task: more task keys.
    """
    from conjure.shell import files as glob_files

    found = listing(module)
    deps = glob_files(*inputs)
    if deps:
        deps += _tool_files(found, module, name) + _module_files(module)
    return finish(
        {
            "doc": f"go tool {name} {' '.join(args)}".strip(),
            "actions": [_action(["go", "tool", name, *args], module, found)],
            "file_dep": sorted(set(deps)),
            "targets": list(outputs),
            "env": _golist.go_environment(),
        },
        task,
    )


def _tool_files(found: Listing, module: str, name: str) -> list[str]:
    """The files of the module's own package that ``go tool NAME`` builds, if it is one."""
    for path in _golist.tool_paths(module):
        if name in (path, path.rsplit("/", 1)[-1]) and path in found.packages:
            return _deps_files(found, module, [found.packages[path]], tests=False)
    return []


@functools.cache
def _git(root: str, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def git_stamp(
    package: str,
    version: str = "Version",
    commit: str = "GitHash",
    date: str = "BuildDate",
    root: str = ".",
) -> dict[str, str]:
    """``-X`` values for ``build(x=...)``: ``git describe``, the commit and its date.

    The date is the commit's, so one commit always gives the same flags; outside a git
    checkout the values are ``dev``, ``unknown``, ``unknown``.

    Args:
        package: import path of the package holding the variables.
        version: name of the version variable (``git describe --tags --always``).
        commit: name of the commit variable (short hash).
        date: name of the date variable (ISO 8601 commit date).
        root: a folder inside the checkout.
    """
    hash_, _, when = _git(root, "log", "-1", "--format=%h %cI").partition(" ")
    return {
        f"{package}.{version}": _git(root, "describe", "--tags", "--always") or "dev",
        f"{package}.{commit}": hash_ or "unknown",
        f"{package}.{date}": when or "unknown",
    }
