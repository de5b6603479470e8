"""The opt-in: ``DOIT_CONFIG = conjure.config(...)``."""

from __future__ import annotations

from typing import Any

CONJURE_KEY = "conjure"
"""Key under which ``config()`` stores conjure's own settings inside ``DOIT_CONFIG``."""

DOIT_KEYS = frozenset(
    {
        "default_tasks",
        "verbosity",
        "minversion",
        "action_string_formatting",
        "continue",
        "always_execute",
        "single",
        "num_process",
    }
)
"""doit settings that ``config()`` passes through to doit unchanged."""


def config(**settings: Any) -> dict[str, Any]:
    """Returns a ``DOIT_CONFIG`` that runs this dodo.py on conjure's engine.

    Args:
        **settings: conjure settings (``hash="sha256"``, ``jobs=4``, ``pools={"docker": 1}``,
            ``cache_dir="cache"``, ...) and the doit settings listed in ``DOIT_KEYS``
            (``default_tasks``, ``verbosity``, ...). Settings may also come from
            ``[tool.conjure]`` in pyproject.toml and ``CONJURE_*`` environment variables;
            values given here win over pyproject.toml, the environment and the command line
            win over both. Unknown names are reported (exit code 2) when doit starts.

    Returns:
        A dict to assign to ``DOIT_CONFIG``.
    """
    doit_part = {key: value for key, value in settings.items() if key in DOIT_KEYS}
    conjure_part = {key: value for key, value in settings.items() if key not in DOIT_KEYS}
    return {**doit_part, CONJURE_KEY: conjure_part}


def is_enabled(doit_config: dict[str, Any]) -> bool:
    """Tells whether a loaded ``DOIT_CONFIG`` opted in to conjure."""
    return isinstance(doit_config.get(CONJURE_KEY), dict)
