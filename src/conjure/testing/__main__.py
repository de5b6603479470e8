"""``python -m conjure.testing run|plan NAME CONFIG_JSON``: the processes test tasks start.

NAME (the suite, or ``tests``) is there for people reading a command line; CONFIG_JSON says
what to do.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Dispatches to the suite runner or the planner."""
    if len(argv) != 3 or argv[0] not in ("run", "plan"):
        sys.stderr.write("usage: python -m conjure.testing run|plan NAME CONFIG_JSON\n")
        return 2
    if argv[0] == "run":
        from conjure.testing._runner import main as run

        return run(argv[2:])
    from conjure.testing._plan import main as plan

    return plan(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
