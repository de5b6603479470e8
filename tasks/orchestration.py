"""This repository's test suites on ``conjure.testing``: one suite per folder under ``tests/``.

dodo.py imports ``tests``; ``doit test-all`` runs every suite in parallel and prints one
summary table; the options of docs/testing.md apply (``--suite unit,orchestration``,
``--shard 1/4``, ``--reruns 1``, ``-k EXPR``); ``doit report`` writes cache/report.html.
"""

from __future__ import annotations

from pathlib import Path

from conjure.testing import PytestTests, Suite, test_tasks

SUITES = {
    "unit": ("engine", "Unit tests of the engine and settings."),
    "integration": ("cli", "Integration tests: real doit runs in temporary projects."),
    "cache": ("cache", "Output cache, CI restore and the remote cache."),
    "library": ("library", "Go + Python task factories on the real toolchains."),
    "orchestration": ("orchestration", "Test suites, sharding, retries and reports."),
    "onboarding": ("onboarding", "Onboarding script and CI templates."),
    # not "docker": `doit test-docker` runs the suites inside the test-runner image (issue 6)
    "containers": ("docker", "Dev images and compose on a real Docker engine."),
}
SLOW = frozenset({"containers"})
INPUTS = ("*.py", "pyproject.toml", "uv.lock")


def _suites() -> list[Suite]:
    """A suite per folder that exists; this interpreter's pytest (the project's venv)."""
    return [
        Suite(
            name,
            PytestTests(".", paths=(f"tests/{folder}",), uv=False, inputs=INPUTS),
            doc=doc,
            timeout=1800,
            slow=name in SLOW,
        )
        for name, (folder, doc) in SUITES.items()
        if (Path("tests") / folder).is_dir()
    ]


tests = test_tasks(_suites())
