"""Shared fixtures: an in-process fake of the farm server's API."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class FakeFarm:
    """What the fake server holds, and the requests it has seen."""

    url: str = ""
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **spec: Any) -> dict[str, Any]:
        with self.lock:
            job = {"id": len(self.jobs) + 1, "status": "queued", "priority": 50, **spec}
            self.jobs[job["id"]] = job
            return job


class _Handler(BaseHTTPRequestHandler):
    farm: FakeFarm  # set on a subclass per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keeps test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.farm.requests.append(("GET", self.path))
        if self.path == "/healthz":
            return self._send(200, {"status": "ok", "version": "fake"})
        if self.path.startswith("/api/jobs?status="):
            wanted = self.path.split("=", 1)[1]
            return self._send(200, [j for j in self.farm.jobs.values() if j["status"] == wanted])
        if self.path == "/api/jobs":
            return self._send(200, list(self.farm.jobs.values()))
        if match := re.fullmatch(r"/api/jobs/(\d+)", self.path):
            return self._job(int(match[1]))
        self._send(404, {"error": "no such route"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.farm.requests.append(("POST", self.path))
        if self.path == "/api/jobs":
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body.get("scene") == "reject.usd":
                return self._send(422, {"error": "invalid job: scene is rejected"})
            return self._send(201, self.farm.add(**body))
        if match := re.fullmatch(r"/api/jobs/(\d+)/cancel", self.path):
            job = self.farm.jobs.get(int(match[1]))
            if job is not None:
                job["status"] = "cancelled"
            return self._job(int(match[1]))
        self._send(404, {"error": "no such route"})

    def _job(self, job_id: int) -> None:
        job = self.farm.jobs.get(job_id)
        if job is None:
            return self._send(404, {"error": f"job not found: {job_id}"})
        self._send(200, job)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_farm() -> Iterator[FakeFarm]:
    """Runs a fake farm server on a free port of 127.0.0.1 for one test."""
    farm = FakeFarm()
    handler = type("Handler", (_Handler,), {"farm": farm})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    farm.url = f"http://{host}:{port}"
    try:
        yield farm
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
