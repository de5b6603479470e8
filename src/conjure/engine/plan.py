"""Dry runs and explanations: what would run and why, without changing any state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conjure.engine.events import UP_TO_DATE, WOULD_RUN, Reason, TaskResult
from conjure.engine.model import Work
from conjure.engine.status import Check, StatusChecker

FINALLY_REASON = Reason(
    "finally", "a finally task: runs after its dependencies finish, also when one fails"
)


def explain(
    works: Mapping[str, Work],
    names: Sequence[str],
    checker: StatusChecker,
    forced: frozenset[str] = frozenset(),
    checks: dict[str, Check] | None = None,
) -> list[TaskResult]:
    """Checks every task in dependency order as if the run happened, executing nothing.

    A task that would run makes the files it creates "pending": its dependents are told
    they would run because of it instead of reading files that may not exist yet. A finally
    task that would run says so as its last reason (it also runs when a dependency fails).
    ``checks``, when given, receives every task's check (for explaining cache keys).

    Raises:
        GraphError: a file dependency does not exist and no task creates it.
    """
    pending: dict[str, str] = {}
    results = []
    for name in names:
        work = works[name]
        check = checker.check(work, full=True, forced=name in forced, pending=pending)
        if checks is not None:
            checks[name] = check
        if check.stale:
            pending.update({target: name for target in work.spec.targets})
            reasons = [*check.reasons, *([FINALLY_REASON] if work.is_finally else [])]
            results.append(TaskResult(name, WOULD_RUN, reasons=reasons))
        else:
            results.append(TaskResult(name, UP_TO_DATE))
    return results
