"""conjure: content-hash incremental builds, critical-path parallel runs, readable output.

A ``dodo.py`` opts in with two lines::

    import conjure
    DOIT_CONFIG = conjure.config()

This module is what a dodo.py author imports. It stays cheap to import: the engine, rich and
networkx load only when a command needs them.
"""

from __future__ import annotations

from conjure._config import CONJURE_KEY, config, is_enabled
from conjure._version import __version__

__all__ = ["CONJURE_KEY", "__version__", "config", "is_enabled"]
