"""conjure: content-hash incremental builds, critical-path parallel runs, readable output.

A ``dodo.py`` opts in with two lines::

    import conjure
    DOIT_CONFIG = conjure.config()

This module is what a dodo.py author imports. It stays cheap to import: the engine, rich and
networkx load only when a command needs them, and the task libraries (``conjure.go``,
``conjure.python``, ``conjure.shell``, ``conjure.discover``, ``conjure.include``,
``conjure.serial``) only when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from conjure._config import CONJURE_KEY, config, is_enabled
from conjure._version import __version__

if TYPE_CHECKING:
    from conjure import go, python, shell
    from conjure._compose import include, serial
    from conjure.discovery import discover

__all__ = [
    "CONJURE_KEY",
    "__version__",
    "config",
    "discover",
    "go",
    "include",
    "is_enabled",
    "python",
    "serial",
    "shell",
]

_LAZY = {
    "go": ("conjure.go", None),
    "python": ("conjure.python", None),
    "shell": ("conjure.shell", None),
    "discover": ("conjure.discovery", "discover"),
    "include": ("conjure._compose", "include"),
    "serial": ("conjure._compose", "serial"),
}


def __getattr__(name: str) -> Any:
    """Imports a task library on first use (``conjure.go``, ``conjure.discover``...)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'conjure' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
