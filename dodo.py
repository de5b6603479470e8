"""conjure's own tasks, run on conjure (``uv run doit list`` shows them)."""

import conjure
from tasks.example import task_example
from tasks.quality import task_check, task_lint, task_typecheck
from tasks.testing import task_test_all, task_test_suites

DOIT_CONFIG = conjure.config(default_tasks=["check", "test-all"])

__all__ = [
    "task_check",
    "task_example",
    "task_lint",
    "task_test_all",
    "task_test_suites",
    "task_typecheck",
]
