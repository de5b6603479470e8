"""A client for the farm server's HTTP API, on the standard library only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from polyglot_addon._spec import JobSpec


class FarmError(Exception):
    """The server answered with an error, or could not be reached.

    Attributes:
        status: The HTTP status, or 0 when no answer came.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status


@dataclass(frozen=True)
class Job:
    """A job as the server reports it."""

    id: int
    name: str
    scene: str
    frame_start: int
    frame_end: int
    priority: int
    status: str
    error: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        """Builds a job from one object of the server's JSON; extra keys are ignored."""
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            scene=str(data["scene"]),
            frame_start=int(data["frame_start"]),
            frame_end=int(data["frame_end"]),
            priority=int(data["priority"]),
            status=str(data["status"]),
            error=str(data.get("error", "")),
        )


class FarmClient:
    """Talks to one farm server.

    Args:
        base_url: For example ``"http://127.0.0.1:8080"``; a trailing slash is
            fine.
        timeout: Seconds to wait for each request.
    """

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def health(self) -> dict[str, Any]:
        """Returns the server's ``/healthz`` answer."""
        result: dict[str, Any] = self._request("GET", "/healthz")
        return result

    def list_jobs(self, status: str | None = None) -> list[Job]:
        """Returns all jobs by ID, or only those with the given status."""
        path = "/api/jobs"
        if status is not None:
            path += "?" + urllib.parse.urlencode({"status": status})
        return [Job.from_json(item) for item in self._request("GET", path)]

    def submit(self, spec: JobSpec) -> Job:
        """Validates the spec locally, then queues it.

        Raises:
            SpecError: The spec is invalid; nothing was sent.
            FarmError: The server refused it.
        """
        return Job.from_json(self._request("POST", "/api/jobs", spec.validate().to_json()))

    def get(self, job_id: int) -> Job:
        """Returns one job; FarmError with status 404 if there is none."""
        return Job.from_json(self._request("GET", f"/api/jobs/{job_id}"))

    def cancel(self, job_id: int) -> Job:
        """Cancels a job that has not finished and returns it."""
        return Job.from_json(self._request("POST", f"/api/jobs/{job_id}/cancel"))

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise FarmError(exc.code, _error_message(exc)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise FarmError(0, f"cannot reach {self.base_url}: {exc}") from None


def _error_message(exc: urllib.error.HTTPError) -> str:
    with exc:
        raw = exc.read()
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace").strip() or exc.reason
