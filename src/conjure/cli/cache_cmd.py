"""``doit cache stats|prune|key|verify|clear|export|import``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conjure._version import __version__
from conjure.cli.session import open_session
from conjure.engine.cache.key import ToolVersions, platform_tag
from conjure.engine.cache.maintenance import clear, hit_rate, human, prune, usage, verify
from conjure.engine.cache.store import LocalCache
from conjure.errors import EXIT_OK, EXIT_TASK_FAILED, ConfigError
from conjure.settings import parse_size

SUBCOMMANDS = ("stats", "prune", "key", "verify", "clear", "export", "import")
LOCKFILES = (
    "uv.lock",
    "poetry.lock",
    "requirements.txt",
    "go.mod",
    "go.sum",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "Cargo.lock",
)
KEY_TOOLS = ("go", "uv", "node", "cargo")


def cache_command(params: Any, args: list[str], config: dict[str, Any]) -> int:
    """Runs one ``doit cache`` subcommand; returns the exit code.

    Raises:
        ConfigError: unknown subcommand or bad arguments (exit 2).
    """
    if not args or args[0] not in SUBCOMMANDS:
        given = f" {args[0]!r}" if args else ""
        raise ConfigError(
            f"doit cache: unknown subcommand{given}; use one of {', '.join(SUBCOMMANDS)}"
        )
    sub, rest = args[0], args[1:]
    limit = params.get("max_size") or ""
    if sub == "prune" and rest[:1] == ["--max-size"] and len(rest) >= 2:
        limit, rest = rest[1], rest[2:]
    elif sub == "prune" and rest and rest[0].startswith("--max-size="):
        limit, rest = rest[0].split("=", 1)[1], rest[1:]
    session = open_session(config, {})
    try:
        local = LocalCache(session.cache_dir, session.root, session.digester)
        if sub in ("export", "import"):
            return _archive(sub, rest, session.cache_dir)
        if rest:
            raise ConfigError(f"doit cache {sub}: unexpected argument {rest[0]!r}")
        if sub == "stats":
            return _stats(local, session.settings.cache_max_size)
        if sub == "prune":
            return _prune(
                local, parse_size_arg(limit) if limit else session.settings.cache_max_size
            )
        if sub == "verify":
            return _verify(local)
        if sub == "clear":
            _say(f"cache cleared: {human(clear(local))} freed")
            return EXIT_OK
        _say(cache_key(session.root, ToolVersions(session.cache_dir / "tools.json")))
        return EXIT_OK
    finally:
        session.close()


def parse_size_arg(text: str) -> int:
    """``--max-size`` as bytes.

    Raises:
        ConfigError: not a size.
    """
    try:
        return parse_size(text)
    except ValueError as err:
        raise ConfigError(f"doit cache prune: invalid --max-size {text!r}: {err}") from None


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _stats(local: LocalCache, limit: int) -> int:
    used = usage(local)
    cached, ran = hit_rate(local.folder / "runs")
    rate = (
        f"{100 * cached / (cached + ran):.0f}% ({cached} cached, {ran} ran)"
        if cached + ran
        else "no runs yet"
    )
    _say(f"entries:   {used.entries}")
    _say(f"blobs:     {used.blobs}")
    _say(f"size:      {human(used.bytes)} of {human(limit)} allowed")
    _say(f"hit rate:  {rate} over the last runs")
    return EXIT_OK


def _prune(local: LocalCache, limit: int) -> int:
    result = prune(local, limit)
    _say(
        f"pruned {result.entries} entries and {result.blobs} blobs, {human(result.freed)} freed; "
        f"{human(result.kept_bytes)} kept (limit {human(limit)})"
    )
    return EXIT_OK


def _verify(local: LocalCache) -> int:
    result = verify(local)
    for problem in result.problems:
        _say(f"problem: {problem}")
    _say(
        f"verified {result.blobs} blobs and {result.entries} entries: "
        f"{len(result.problems) or 'no'} problem(s)"
    )
    return EXIT_TASK_FAILED if result.problems else EXIT_OK


def _archive(sub: str, rest: list[str], folder: Path) -> int:
    from conjure.engine.cache.archive import export_cache, import_cache

    if len(rest) != 1:
        raise ConfigError(f"doit cache {sub}: give one archive file (.tar.zst or .tar.gz)")
    path = Path(rest[0])
    if sub == "export":
        count = export_cache(folder, path)
        _say(f"exported {count} files to {path} ({human(path.stat().st_size)})")
    else:
        count = import_cache(folder, path)
        _say(f"imported {count} new files from {path} into {folder}")
    return EXIT_OK


def cache_key(root: Path, tools: ToolVersions) -> str:
    """A short key for a CI cache step: lockfiles, toolchains, conjure's version, the OS.

    ``conjure-<os-arch>-<16 hex>``: the same on every machine with the same lockfiles and
    toolchains, different as soon as one of them changes.
    """
    from conjure.engine.hashing import Digester

    digester = Digester("sha256")
    lines = [f"conjure {__version__}", platform_tag()]
    for path in _lockfiles(root):
        lines.append(f"{path.relative_to(root)} {digester.of_file(str(path), path.stat().st_size)}")
    for tool in KEY_TOOLS:
        lines.append(f"{tool} {tools.version(tool)}")
    tools.save()
    return f"conjure-{platform_tag()}-{digester.of_text(chr(10).join(lines))[:16]}"


def _lockfiles(root: Path) -> list[Path]:
    names = set(LOCKFILES)
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", *(f"**/{n}" for n in names), *names],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout.decode()
        found = {root / p for p in listed.split("\0") if p}
    except (OSError, subprocess.SubprocessError):
        found = set()
        for folder, dirs, files in os.walk(root):
            dirs[:] = [
                d for d in dirs if not d.startswith(".") and d not in ("cache", "node_modules")
            ]
            found |= {Path(folder) / f for f in files if f in names}
    return sorted(p for p in found if p.is_file())
