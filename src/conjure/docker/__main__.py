"""``python -m conjure.docker COMMAND ...``: what the docker tasks' actions run.

Commands: ``build SPEC TARGET``, ``up PAYLOAD``, ``down PAYLOAD``,
``logs PAYLOAD SERVICE TAIL``, ``test PAYLOAD [COMMAND...]``, ``doctor``. A configuration
problem is one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys

from conjure.errors import EXIT_USAGE, ConjureError

USAGE = "usage: python -m conjure.docker build|up|down|logs|test|doctor ARGS"


def _dispatch(argv: list[str]) -> int:
    from conjure.docker import _compose, _doctor, _image

    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "doctor":
        return _doctor.main_doctor()
    if command == "build" and len(args) == 2:
        return _image.main_build(args[0], args[1])
    if command in ("up", "down") and len(args) == 1:
        image, compose = _compose.parse_payload(args[0])
        return _compose.up(image, compose) if command == "up" else _compose.down(image, compose)
    if command == "logs" and len(args) == 3:
        image, compose = _compose.parse_payload(args[0])
        return _compose.logs(image, compose, args[1], args[2])
    if command == "test" and args:
        image, compose = _compose.parse_payload(args[0])
        return _compose.test(image, compose, args[1:])
    print(USAGE, file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str]) -> int:
    """Runs one command; maps an error to one line and its exit code (2: configuration)."""
    try:
        return _dispatch(argv)
    except ConjureError as err:
        sys.stdout.flush()
        print(f"conjure: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
