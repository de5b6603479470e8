"""Errors as values with exit codes: one place maps an error to a message and a code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class ConjureError(Exception):
    """An error a user can act on; its message is one clear line.

    Attributes:
        exit_code: the process exit code for this error.
    """

    exit_code = EXIT_USAGE


class ConfigError(ConjureError):
    """A setting in pyproject.toml, DOIT_CONFIG, the environment or a flag is invalid."""


class GraphError(ConjureError):
    """The task graph is invalid (cycle, unknown task, missing file, duplicate target)."""


class CycleError(GraphError):
    """A dependency cycle; the message names every task on it.

    Attributes:
        cycle: the task names on the cycle, the first repeated at the end.
    """

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join(cycle))


class UnsupportedError(ConjureError):
    """A doit feature conjure's engine does not support (yet)."""
