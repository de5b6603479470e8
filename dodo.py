"""conjure's own tasks, run on conjure (``uv run doit list`` shows them)."""

import conjure
from tasks.docker import task_docker
from tasks.example import task_example
from tasks.onboard import task_onboard
from tasks.orchestration import tests
from tasks.quality import task_check, task_lint, task_typecheck

# keep_going: one failing suite does not stop the others (test-all reports them all)
DOIT_CONFIG = conjure.config(default_tasks=["check", "test-all"], keep_going=True)

__all__ = [
    "task_check",
    "task_docker",
    "task_example",
    "task_lint",
    "task_onboard",
    "task_typecheck",
    "tests",
]
