"""What a Go module is made of, from ``go list``, cached under ``cache/go-list/``.

``go list -e -json ./...`` costs 0.1-0.3 s, more than a whole no-op run, so its answer is
stored with what it depends on: the Go toolchain (path, size, mtime), the Go environment that
selects files (``GOFLAGS``, ``GOOS``, ``GOARCH``, ``CGO_ENABLED``, ``GOEXPERIMENT``,
``GOTOOLCHAIN``), the build tags, ``go.mod``/``go.sum`` contents, the names and stats of the
module's ``.go`` files and the listings of folders that hold embedded files. Any change there
runs ``go list`` again; an edit to a ``.go`` file does too (its imports may have changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conjure.errors import ConfigError

GO_ENV_NAMES = ("GOFLAGS", "CGO_ENABLED", "GOOS", "GOARCH", "GOEXPERIMENT", "GOTOOLCHAIN")
"""Environment variables that change what Go builds; part of every Go task's key."""

MISSING_GO = "go not found: install Go >= 1.22, or run this inside the dev container"
_FORMAT = 1
_BUILD_FIELDS = ("GoFiles", "CgoFiles", "CFiles", "CXXFiles", "HFiles", "SFiles", "SysoFiles")
_TEST_FIELDS = ("TestGoFiles", "XTestGoFiles", "TestEmbedFiles", "XTestEmbedFiles")
_LIST_FIELDS = (
    "ImportPath,Dir,Name,Module,Deps,Imports,TestImports,XTestImports,EmbedFiles,"
    + ",".join(_BUILD_FIELDS + _TEST_FIELDS)
)
_SKIP_DIRS = frozenset({"testdata", "vendor", "node_modules"})


@dataclass(frozen=True)
class Package:
    """One package of the module, paths relative to the module root (POSIX separators).

    Attributes:
        import_path: the package's import path.
        dir: its folder relative to the module root ("." for the root).
        name: the package name (``main`` for a command).
        build_files: files that go into its build (Go, cgo, embedded).
        test_files: files only its tests add (``_test.go``, test embeds, ``testdata/``).
        deps: import paths of the module's packages it builds from, transitively.
        test_deps: the same for its tests (test imports included).
    """

    import_path: str
    dir: str
    name: str
    build_files: tuple[str, ...]
    test_files: tuple[str, ...]
    deps: tuple[str, ...]
    test_deps: tuple[str, ...]


@dataclass
class Listing:
    """A module as ``go list`` saw it.

    Attributes:
        path: the module path (``example.com/polyglot``).
        go_version: ``go env GOVERSION`` in the module (``go1.22.4``).
        packages: the module's packages by import path; empty when every file needs a
            build tag (a Mage ``magefiles/`` module) or there is no Go file yet.
        go_files: every ``.go`` file under the module, build tags or not (for gofmt).
    """

    path: str
    go_version: str
    packages: dict[str, Package] = field(default_factory=dict)
    go_files: tuple[str, ...] = ()


def find_go() -> str:
    """The ``go`` executable on PATH.

    Raises:
        ConfigError: there is none (exit code 2, one line saying what to do).
    """
    found = shutil.which("go")
    if found is None:
        raise ConfigError(MISSING_GO)
    return found


def tool_paths(module_dir: str) -> list[str]:
    """The package paths of ``go.mod``'s ``tool`` directives (one line or a block), in order.

    A missing or unreadable ``go.mod`` has none.
    """
    try:
        text = Path(module_dir, "go.mod").read_text(encoding="utf-8")
    except OSError:
        return []
    found: list[str] = []
    in_block = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if in_block:
            in_block = line != ")"
            if in_block and line:
                found.append(line.strip('"'))
        elif line.replace(" ", "") == "tool(":
            in_block = True
        elif line.startswith("tool "):
            found.append(line[len("tool ") :].strip().strip('"'))
    return found


def go_environment(overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """The Go variables of ``GO_ENV_NAMES`` from ``os.environ``, with overrides applied."""
    env: dict[str, str | None] = {name: os.environ.get(name) for name in GO_ENV_NAMES}
    env.update(overrides or {})
    return env


def load(
    module_dir: str, tags: Iterable[str] = (), env: Mapping[str, str | None] | None = None
) -> Listing:
    """Lists a module's packages, from the cache when nothing it depends on changed.

    Args:
        module_dir: the folder with ``go.mod``, relative to the current directory.
        tags: build tags (``-tags``).
        env: Go variables (see ``go_environment``); ``None`` values are unset.

    Raises:
        ConfigError: ``go`` is missing, or ``go list`` fails (no ``go.mod``, a bad one).
    """
    go = find_go()
    root = Path(module_dir)
    goenv = go_environment(env)
    tag_list = sorted(set(tags))
    key, stats = _key(go, root, tag_list, goenv)
    cache_file = _cache_dir() / f"{key}.json"
    cached = _read_cache(cache_file, stats, root)
    if cached is not None:
        return cached
    listing, embed_dirs = _run_go_list(go, root, tag_list, goenv)
    listing.go_files = tuple(sorted(stats))
    _write_cache(cache_file, listing, stats, {d: _names(root / d) for d in embed_dirs})
    return listing


def _cache_dir() -> Path:
    """``go-list/`` under the cache folder the engine uses (pyproject < dodo.py < env)."""
    from conjure.settings import project_settings

    return Path(project_settings().cache_dir) / "go-list"


def _key(
    go: str, root: Path, tags: list[str], goenv: Mapping[str, str | None]
) -> tuple[str, dict[str, list[int]]]:
    """The cache key (toolchain, environment, tags, go.mod/go.sum) and the .go file stats."""
    real = os.path.realpath(go)
    stat = os.stat(real)
    parts: dict[str, Any] = {
        "format": _FORMAT,
        "go": [real, stat.st_size, stat.st_mtime_ns],
        "env": sorted(goenv.items(), key=lambda item: item[0]),
        "tags": tags,
        "dir": root.as_posix(),
    }
    for name in ("go.mod", "go.sum", "go.work"):
        try:
            parts[name] = (root / name).read_bytes().hex()
        except FileNotFoundError:
            parts[name] = None
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]
    return digest, _go_file_stats(root)


def _go_file_stats(root: Path) -> dict[str, list[int]]:
    """``.go`` files under the module (not nested modules, hidden or testdata folders)."""
    found: dict[str, list[int]] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith((".", "_"))
            and d not in _SKIP_DIRS
            and not (here / d / "go.mod").exists()
        ]
        for name in files:
            if name.endswith(".go"):
                stat = os.stat(here / name)
                found[(here / name).relative_to(root).as_posix()] = [
                    stat.st_mtime_ns,
                    stat.st_size,
                ]
    return found


def _names(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def _read_cache(path: Path, stats: dict[str, list[int]], root: Path) -> Listing | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("stats") != stats:
        return None
    if any(_names(root / d) != names for d, names in data.get("embed_dirs", {}).items()):
        return None
    packages = {p["import_path"]: _package(p) for p in data["packages"]}
    return Listing(data["path"], data["go_version"], packages, tuple(sorted(stats)))


def _package(raw: dict[str, Any]) -> Package:
    return Package(
        raw["import_path"],
        raw["dir"],
        raw["name"],
        *(tuple(raw[k]) for k in ("build_files", "test_files", "deps", "test_deps")),
    )


def _write_cache(
    path: Path, listing: Listing, stats: dict[str, list[int]], embeds: dict[str, list[str]]
) -> None:
    """Writes the cache entry atomically (temporary file, then rename)."""
    data = {
        "path": listing.path,
        "go_version": listing.go_version,
        "packages": [vars(p) for p in listing.packages.values()],
        "stats": stats,
        "embed_dirs": embeds,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out)
    os.replace(temp, path)


def _run_go_list(
    go: str, root: Path, tags: list[str], goenv: Mapping[str, str | None]
) -> tuple[Listing, set[str]]:
    env = {k: v for k, v in os.environ.items() if k not in goenv}
    env.update({k: v for k, v in goenv.items() if v is not None})
    version = _go(go, ["env", "GOVERSION"], root, env).strip()
    tag_args = ["-tags", ",".join(tags)] if tags else []
    out = _go(go, ["list", "-e", f"-json={_LIST_FIELDS}", *tag_args, "./..."], root, env)
    raw = [p for p in _json_stream(out) if p.get("Module")]
    if not raw:  # only build-tagged files (a magefiles/ module) or no Go files yet
        return Listing(_module_path(go, root, env), version), set()
    module_path = raw[0]["Module"]["Path"]
    own = {p["ImportPath"]: p for p in raw if p["Module"].get("Path") == module_path}
    absroot = Path(os.path.abspath(root))
    packages = {path: _from_go_list(p, own, absroot) for path, p in own.items()}
    embed_dirs = {
        Path(f).parent.as_posix()
        for pkg in packages.values()
        for f in pkg.build_files + pkg.test_files
        if not f.endswith(".go")
    }
    embed_dirs.update(_join(p.dir, "testdata") for p in packages.values())
    return Listing(module_path, version, packages), embed_dirs


def _module_path(go: str, root: Path, env: Mapping[str, str]) -> str:
    """The module path from ``go.mod`` alone (``go mod edit -json``: no network, no go.work)."""
    data = json.loads(_go(go, ["mod", "edit", "-json"], root, env))
    return str(data["Module"]["Path"])


def _go(go: str, args: list[str], root: Path, env: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(
            [go, *args], cwd=root, env=env, capture_output=True, text=True, check=False
        )
    except OSError as err:
        raise ConfigError(f"cannot run {go}: {err.strerror or err}") from None
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise ConfigError(f"go {args[0]} failed in {root}: {lines[0]}")
    return done.stdout


def _json_stream(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return found
        value, index = decoder.raw_decode(text, index)
        found.append(value)


def _from_go_list(raw: dict[str, Any], own: Mapping[str, Any], root: Path) -> Package:
    folder = Path(raw["Dir"]).relative_to(root).as_posix()

    def files(fields: tuple[str, ...]) -> list[str]:
        return [_join(folder, f) for k in fields for f in raw.get(k) or ()]

    testdata = root / folder / "testdata"
    extra = [p.relative_to(root).as_posix() for p in sorted(testdata.rglob("*")) if p.is_file()]
    deps = sorted(d for d in raw.get("Deps") or () if d in own)
    test_imports = [*(raw.get("TestImports") or ()), *(raw.get("XTestImports") or ())]
    test_deps = set(deps)
    for imported in test_imports:
        if imported in own and imported != raw["ImportPath"]:
            test_deps.add(imported)
            test_deps.update(d for d in own[imported].get("Deps") or () if d in own)
    test_deps.discard(raw["ImportPath"])
    return Package(
        raw["ImportPath"],
        folder,
        raw.get("Name", ""),
        tuple(
            sorted(
                set(files(_BUILD_FIELDS) + [_join(folder, f) for f in raw.get("EmbedFiles") or ()])
            )
        ),
        tuple(sorted(set(files(_TEST_FIELDS) + extra))),
        tuple(deps),
        tuple(sorted(test_deps)),
    )


def _join(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder}/{name}"
