"""onboard: run scripts/onboard.sh (the new-machine checks) from doit.

Wiring (in dodo.py)::

    from tasks.onboard import task_onboard

``doit onboard`` runs it non-interactively (``--yes``); ``--skip-docker`` and ``--fix`` pass
through. The script itself needs no Python environment: on a new machine run
``scripts/onboard.sh`` first, ``doit onboard`` afterwards.
"""

from __future__ import annotations

from typing import Any

from doit.action import CmdAction

SCRIPT = "scripts/onboard.sh"


def _command(skip_docker: bool, fix: bool) -> str:
    flags = ["--yes"] + ["--skip-docker"] * skip_docker + ["--fix"] * fix
    return f"bash {SCRIPT} {' '.join(flags)}"


def task_onboard() -> dict[str, Any]:
    """Check this machine end to end (scripts/onboard.sh --yes): toolchains, Docker, a smoke run."""
    return {
        "actions": [CmdAction((_command, [], {}))],
        "params": [
            {
                "name": "skip_docker",
                "long": "skip-docker",
                "type": bool,
                "default": False,
                "help": "leave out Docker, the dev image and doctor",
            },
            {
                "name": "fix",
                "long": "fix",
                "type": bool,
                "default": False,
                "help": "apply recommended configuration (go env -w)",
            },
        ],
        "verbosity": 2,
        "timeout": 3600,
    }
