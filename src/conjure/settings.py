"""One typed settings model for every source, with one precedence order.

Precedence, lowest first: built-in defaults, ``[tool.conjure]`` in pyproject.toml,
``conjure.config(...)`` in dodo.py, ``CONJURE_*`` environment variables, command-line flags.
Every value remembers where it came from (``Settings.source_of``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conjure.errors import ConfigError

HASHES = ("blake3", "sha256")
OUTPUTS = ("auto", "rich", "plain")


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return text

    return convert


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a positive integer")
    number = int(value)
    if number < 1:
        raise ValueError("expected a positive integer")
    return number


def _positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a positive number of seconds")
    number = float(value)
    if number <= 0:
        raise ValueError("expected a positive number of seconds")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value


_SIZE_UNITS = {"": 1, "B": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}


def parse_size(value: Any) -> int:
    """A size in bytes from ``2GB``, ``500MB``, ``1.5GiB`` or a plain number of bytes.

    Raises:
        ValueError: not a size.
    """
    if isinstance(value, bool):
        raise ValueError("expected a size such as 2GB or 500MB")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        text = str(value).strip().upper().replace(" ", "")
        binary = "IB" in text
        text = text.replace("IB", "").rstrip("B") if text[-1:] == "B" else text
        digits = text.rstrip("KMGT")
        unit = text[len(digits) :]
        try:
            number = float(digits)
        except ValueError:
            raise ValueError("expected a size such as 2GB or 500MB") from None
        if binary:
            return int(number * 1024 ** ("KMGT".index(unit) + 1)) if unit else int(number)
    if unit not in _SIZE_UNITS or number <= 0:
        raise ValueError("expected a size such as 2GB or 500MB")
    return int(number * _SIZE_UNITS[unit])


def _url(value: Any) -> str:
    text = str(value).strip()
    if text and not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL (or empty to turn it off)")
    return text.rstrip("/")


def _pools(value: Any) -> dict[str, int]:
    if isinstance(value, str):  # from the environment: "docker=1,net=2"
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected NAME=LIMIT pairs separated by commas")
        value = {name.strip(): limit for name, limit in pairs}
    if not isinstance(value, Mapping):
        raise ValueError("expected a table of pool name = limit")
    return {str(name): _positive_int(limit) for name, limit in value.items()}


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "hash": _choice(HASHES),
    "cache_dir": _text,
    "jobs": _positive_int,
    "keep_going": _flag,
    "kill_grace": _positive_float,
    "output": _choice(OUTPUTS),
    "pools": _pools,
    "keep_runs": _positive_int,
    "cache": _flag,
    "cache_max_size": parse_size,
    "remote": _url,
    "remote_write": _flag,
    "remote_timeout": _positive_float,
}


@dataclass
class Settings:
    """conjure's settings.

    Attributes:
        hash: content digest, ``blake3`` (default) or ``sha256``.
        cache_dir: folder for state, run records and (later) the output cache, relative to the
            project root.
        jobs: worker threads; ``None`` means the CPU count.
        keep_going: run everything that does not depend on a failure (``--continue``).
        kill_grace: seconds between SIGTERM and SIGKILL when stopping a task's processes.
        output: ``auto`` (rich on a terminal, plain otherwise and under ``CI=true``), ``rich``
            or ``plain``.
        pools: concurrency limits by pool name; a task joins one with ``"pool": "docker"``.
        keep_runs: how many run records ``cache/runs/`` keeps.
        cache: store task outputs in the content-addressed cache and restore them on a hit.
        cache_max_size: size limit of the output cache in bytes (least recently used entries
            go first); ``cache_max_size = "2GB"`` in pyproject.toml.
        remote: base URL of a shared Bazel-HTTP-protocol cache (``/ac/``, ``/cas/``); empty
            means none.
        remote_write: upload to the remote cache (only on trusted CI branches).
        remote_timeout: seconds before a remote request is given up (then the remote is off
            for the rest of the run, with one warning).
    """

    hash: str = "blake3"
    cache_dir: str = "cache"
    jobs: int | None = None
    keep_going: bool = False
    kill_grace: float = 5.0
    output: str = "auto"
    pools: dict[str, int] = field(default_factory=dict)
    keep_runs: int = 50
    cache: bool = True
    cache_max_size: int = 10 * 1000**3
    remote: str = ""
    remote_write: bool = False
    remote_timeout: float = 5.0
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def source_of(self, name: str) -> str:
        """Says where a setting's value came from (``default`` when nobody set it)."""
        return self.sources.get(name, "default")

    def apply(self, values: Mapping[str, Any], source: str) -> None:
        """Applies values from one source over the current ones.

        Raises:
            ConfigError: a name is unknown or a value is invalid; the message names the source.
        """
        for name, raw in values.items():
            key = name.replace("-", "_")
            convert = _CONVERTERS.get(key)
            if convert is None:
                known = ", ".join(sorted(_CONVERTERS))
                raise ConfigError(f"{source}: unknown setting {name!r} (known: {known})")
            try:
                setattr(self, key, convert(raw))
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{source}: invalid {name} = {raw!r}: {err}") from None
            self.sources[key] = source


def cli_settings(**values: Any) -> dict[str, Any]:
    """Command-line values that were given (None means "not given")."""
    return {key: value for key, value in values.items() if value is not None}


def read_pyproject(path: Path) -> dict[str, Any]:
    """Reads ``[tool.conjure]`` from a pyproject.toml; an absent file or table is empty.

    Raises:
        ConfigError: the file is not valid TOML.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    if "conjure" not in text:  # no table to find: skip parsing (the no-op path counts ms)
        return {}
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    table = data.get("tool", {}).get("conjure", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.conjure] must be a table")
    return table


def read_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Collects ``CONJURE_<NAME>`` variables for the known settings."""
    found = {}
    for key in _CONVERTERS:
        value = environ.get("CONJURE_" + key.upper())
        if value is not None:
            found[key] = value
    return found


def load_settings(
    root: Path,
    dodo_values: Mapping[str, Any],
    cli_values: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Builds the settings from every source in precedence order.

    Args:
        root: the project root (where pyproject.toml is looked for).
        dodo_values: what dodo.py passed to ``conjure.config()``.
        cli_values: values from command-line flags (only those the user gave).
        environ: the environment; ``os.environ`` by default.
    """
    settings = Settings()
    settings.apply(read_pyproject(root / "pyproject.toml"), "pyproject.toml [tool.conjure]")
    settings.apply(dodo_values, "dodo.py conjure.config()")
    settings.apply(read_environment(os.environ if environ is None else environ), "environment")
    settings.apply(cli_values, "command line")
    return settings


_dodo_values: dict[str, Any] = {}


def set_dodo_values(values: Mapping[str, Any]) -> None:
    """Called by conjure's doit commands once the dodo's ``DOIT_CONFIG`` is known, before any
    task creator runs (see ``dodo_values``)."""
    _dodo_values.clear()
    _dodo_values.update(values)


def dodo_values() -> Mapping[str, Any]:
    """The ``conjure.config(...)`` values of the dodo.py being run, for task creators.

    doit imports the whole dodo.py before it calls any ``task_*`` function, so a creator sees
    them wherever ``DOIT_CONFIG`` is assigned. Empty outside a conjure command.
    """
    return dict(_dodo_values)


def project_settings() -> Settings:
    """The settings a task creator should follow: pyproject.toml, the dodo.py's
    ``conjure.config(...)`` and ``CONJURE_*`` variables (command-line flags aside).

    Raises:
        ConfigError: an invalid setting (the run stops on it as well).
    """
    return load_settings(Path(os.getcwd()), _dodo_values, {})
