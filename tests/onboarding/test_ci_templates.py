"""ci/github-actions.yml and ci/gitlab-ci.yml parse, and say what docs/ci.md promises.

PyYAML is not a dependency of the project: the files are parsed by ``uv run --with pyyaml``
in a throw-away environment and handed over as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.onboarding.conftest import ROOT

TO_JSON = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"


def _load(relative: str) -> Any:
    if shutil.which("uv") is None:
        pytest.skip("uv is needed to parse YAML (uv run --with pyyaml)")
    command = ["uv", "run", "--no-project", "--with", "pyyaml", "python", "-c", TO_JSON]
    done = subprocess.run(
        [*command, str(ROOT / relative)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _scripts(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_github_actions_template() -> None:
    workflow = _load("ci/github-actions.yml")
    jobs = workflow["jobs"]
    shards = jobs["test"]
    total = int(workflow["env"]["TOTAL"])
    assert shards["strategy"]["matrix"]["index"] == list(range(1, total + 1))
    assert shards["strategy"]["fail-fast"] is False
    run = _scripts(shards)
    assert "uv sync --locked" in run
    assert "doit cache key" in run
    assert "uv run doit test-all --shard ${{ matrix.index }}/${{ env.TOTAL }}" in run
    restore = [s for s in shards["steps"] if str(s.get("uses", "")).startswith("actions/cache/")]
    assert [s["uses"] for s in restore] == ["actions/cache/restore@v4"]  # shards never save
    assert restore[0]["with"]["key"].startswith("${{ steps.key.outputs.key }}")
    assert any(
        str(s.get("uses", "")).startswith("actions/upload-artifact") for s in shards["steps"]
    )

    merge = jobs["merge"]
    assert merge["needs"] == "test" and merge["if"] == "always()"
    assert "uv run doit ci-merge shards/shard-*/testing" in _scripts(merge)
    save = [s for s in merge["steps"] if s.get("uses") == "actions/cache/save@v4"]
    assert len(save) == 1
    assert "github.event.repository.default_branch" in save[0]["if"]
    uploaded = next(s for s in merge["steps"] if s.get("with", {}).get("name") == "test-report")
    assert "cache/testing/junit.xml" in uploaded["with"]["path"]
    assert "cache/report.html" in uploaded["with"]["path"]
    write = workflow["env"]["CONJURE_REMOTE_WRITE"]
    assert "github.event.repository.default_branch" in write and "'1'" in write


def test_gitlab_template() -> None:
    pipeline = _load("ci/gitlab-ci.yml")
    assert pipeline["stages"] == ["test", "merge"]
    total = int(pipeline["variables"]["TOTAL"])
    test, merge = pipeline["test"], pipeline["merge"]
    assert test["parallel"] == total
    assert 'uv run doit test-all --shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in test["script"]
    assert "doit cache key" in "\n".join(pipeline[".conjure"]["before_script"])
    assert all(c["policy"] == "pull" for c in pipeline[".conjure"]["cache"])  # shards only pull
    assert merge["cache"][0]["policy"] == "$CACHE_POLICY"
    assert pipeline["variables"]["CACHE_POLICY"] == "pull"
    assert pipeline["variables"]["CONJURE_REMOTE_WRITE"] == "0"
    default = pipeline["workflow"]["rules"][0]
    assert "$CI_DEFAULT_BRANCH" in default["if"]
    assert default["variables"] == {"CONJURE_REMOTE_WRITE": "1", "CACHE_POLICY": "pull-push"}
    assert merge["needs"] == ["test"] and merge["when"] == "always"
    assert any("doit ci-merge" in line for line in merge["script"])
    assert merge["artifacts"]["reports"]["junit"] == "cache/testing/junit.xml"
    assert "cache/report.html" in merge["artifacts"]["paths"]


def test_templates_are_what_the_docs_show() -> None:
    docs = (ROOT / "docs" / "ci.md").read_text()
    for template in ("ci/github-actions.yml", "ci/gitlab-ci.yml"):
        assert template in docs
    assert Path(ROOT / "ci" / "github-actions.yml").read_text().count("doit ci-merge") == 1
