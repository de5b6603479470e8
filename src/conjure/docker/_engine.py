"""The few Docker Engine API calls conjure needs, without importing docker-py.

``import docker`` costs about 0.4 s, more than a whole no-op ``doit`` run. The up-to-date check
of ``doit image`` needs two kinds of call (an image's ID, a container's state), so they are
made here over the engine's socket with ``http.client``. Hosts this module does not speak
(``ssh://``, TLS) go through docker-py's ``APIClient`` (the Docker SDK), imported only then.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from conjure.errors import ConfigError

DEFAULT_HOST = "unix:///var/run/docker.sock"
START_HINT = (
    "start it (`sudo systemctl start docker`, `sudo dockerd &`, or Docker Desktop) "
    "or point DOCKER_HOST at a running engine"
)


class EngineUnreachableError(ConfigError):
    """The Docker engine does not answer; the message says how to start one."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot reach the Docker engine at {host} ({reason}): {START_HINT}")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class Engine:
    """A Docker Engine API client for a handful of read calls and ``tag``.

    Args:
        host: a ``DOCKER_HOST`` value; ``$DOCKER_HOST`` or the local socket by default.
        timeout: seconds per request.
    """

    def __init__(self, host: str | None = None, timeout: float = 10.0) -> None:
        self.host = host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
        self.timeout = timeout
        self._sdk: Any = None

    def _connection(self) -> http.client.HTTPConnection | None:
        parts = urlsplit(self.host)
        if parts.scheme == "unix":
            return _UnixConnection(parts.path, self.timeout)
        if parts.scheme in ("tcp", "http") and not os.environ.get("DOCKER_TLS_VERIFY"):
            return http.client.HTTPConnection(
                parts.hostname or "", parts.port or 2375, timeout=self.timeout
            )
        return None

    def request(
        self, method: str, path: str, query: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Makes one API call; returns the status code and the decoded JSON body (or None).

        Raises:
            EngineUnreachableError: nothing answers at the host.
        """
        if query:
            path = f"{path}?{urlencode(query)}"
        connection = self._connection()
        if connection is None:
            return self._sdk_request(method, path)
        try:
            connection.request(method, path, headers={"Host": "docker"})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as err:
            raise EngineUnreachableError(self.host, str(err) or type(err).__name__) from None
        finally:
            connection.close()
        return response.status, _decode(body)

    def _sdk_request(self, method: str, path: str) -> tuple[int, Any]:
        if self._sdk is None:
            import docker  # the Docker SDK, only for hosts http.client does not speak

            try:
                self._sdk = docker.APIClient(**docker.utils.kwargs_from_env())
            except docker.errors.DockerException as err:
                raise EngineUnreachableError(self.host, str(err)) from None
        url = f"{self._sdk.base_url}{path}"
        try:
            response = self._sdk.request(method, url, timeout=self.timeout)
        except OSError as err:
            raise EngineUnreachableError(self.host, str(err)) from None
        return response.status_code, _decode(response.content)

    def version(self) -> dict[str, Any]:
        """The engine's ``/version`` answer (Version, ApiVersion, Os, Arch, ...)."""
        _, body = self.request("GET", "/version")
        return body if isinstance(body, dict) else {}

    def image_id(self, ref: str) -> str | None:
        """The ID of a local image, or None when the engine does not have it."""
        status, body = self.request("GET", f"/images/{quote(ref, safe='/:@')}/json")
        if status == 200 and isinstance(body, dict):
            return str(body["Id"])
        return None

    def tag(self, image: str, repository: str, tag: str) -> None:
        """Tags an image (``repository:tag``)."""
        path = f"/images/{quote(image, safe='/:@')}/tag"
        status, body = self.request("POST", path, {"repo": repository, "tag": tag})
        if status >= 300:
            raise ConfigError(f"cannot tag {image} as {repository}:{tag}: {_message(body)}")

    def container(self, ident: str) -> dict[str, Any] | None:
        """A container's inspect data, or None when it does not exist."""
        status, body = self.request("GET", f"/containers/{quote(ident)}/json")
        return body if status == 200 and isinstance(body, dict) else None

    def containers(self, labels: list[str]) -> list[dict[str, Any]]:
        """Every container (running or not) carrying all the given ``key=value`` labels."""
        query = {"all": "1", "filters": json.dumps({"label": labels})}
        _, body = self.request("GET", "/containers/json", query)
        return body if isinstance(body, list) else []


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode(errors="replace")


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message", body))
    return str(body)
