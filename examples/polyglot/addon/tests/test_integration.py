"""The client against the real Go server binary.

Build it first (``doit build:server`` or ``go build -o bin/server ./cmd/server``)
and point POLYGLOT_SERVER_BIN at it.
"""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from polyglot_addon import FarmClient, JobSpec

pytestmark = pytest.mark.integration

_SERVER_BIN = os.environ.get("POLYGLOT_SERVER_BIN", "")


@pytest.fixture
def server_url() -> Iterator[str]:
    """Starts the Go server on a free port and yields its base URL."""
    if not _SERVER_BIN:
        pytest.skip("POLYGLOT_SERVER_BIN is not set: build cmd/server and point it at the binary")
    if not Path(_SERVER_BIN).is_file():
        pytest.fail(f"POLYGLOT_SERVER_BIN={_SERVER_BIN} does not exist: build cmd/server first")
    proc = subprocess.Popen(
        [_SERVER_BIN, "-addr", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "server <version> listening on http://127.0.0.1:<port>"
        if "listening on " not in line:
            proc.kill()
            pytest.fail(f"server did not start: {line!r} {proc.communicate(timeout=5)[1]!r}")
        yield line.split("listening on ", 1)[1].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_lists_demo_jobs_and_accepts_a_new_one(server_url: str) -> None:
    client = FarmClient(server_url)
    assert client.health()["status"] == "ok"

    jobs = client.list_jobs()
    assert [j.name for j in jobs] == ["opening titles", "hero shot", "turntable"]
    assert {j.status for j in jobs} == {"queued"}

    new = client.submit(JobSpec("from python", "py.usd", 1, 10, priority=30))
    assert new.id == 4
    assert client.cancel(new.id).status == "cancelled"
    assert [j.id for j in client.list_jobs(status="cancelled")] == [4]
