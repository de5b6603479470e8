"""A shared remote cache over the Bazel HTTP cache protocol.

``GET/PUT/HEAD <base>/ac/<key>`` holds manifests, ``<base>/cas/<digest>`` holds blobs: the
protocol that bazel-remote, nginx with WebDAV (``dav_methods PUT``) and S3/GCS gateways serve.

* Reads are on when a URL is configured; writes only with ``remote_write`` (set
  ``CONJURE_REMOTE_WRITE=1`` on trusted CI branches only: a pull request that can write to a
  shared cache can poison it).
* With ``CONJURE_REMOTE_HMAC_KEY`` set, manifests are signed (HMAC-SHA256) on upload and an
  unsigned or wrongly signed manifest is a miss, never a hit. Blobs need no signature: they
  are named by their digest and checked on download.
* The first network failure (refused, timed out, reset, a 5xx) turns the remote off for the
  rest of the run with one warning; the build continues locally. At most one timeout is
  paid per run (per worker in flight at that moment).

Blobs are named by the digest of the configured ``hash``. bazel-remote checks that a CAS
blob's name is its SHA-256 and that AC entries are ActionResult protos: use it with
``hash = "sha256"`` and ``--disable_http_ac_validation``. nginx WebDAV (tested) needs neither.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

HMAC_ENV = "CONJURE_REMOTE_HMAC_KEY"


class RemoteError(Exception):
    """The remote cache failed (network, timeout, server error)."""


class RemoteCache:
    """A client of one remote cache; thread-safe.

    Args:
        base: the base URL (``http://host:port/prefix``).
        timeout: seconds for any one request.
        write: whether uploads are allowed.
        secret: HMAC key for signing and checking manifests, or None.
    """

    def __init__(self, base: str, timeout: float, write: bool, secret: bytes | None) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.write = write
        self.secret = secret
        self.warning = ""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._off = False

    @property
    def available(self) -> bool:
        """False once a failure turned the remote off for this run."""
        return not self._off

    # the protocol -------------------------------------------------------------------------

    def get_manifest(self, key: str) -> bytes | None:
        """The manifest JSON of a key after checking its signature, or None on a miss."""
        body = self._get(f"ac/{key}")
        return None if body is None else self._unwrap(body)

    def fetch_blob(self, digest: str, dest: Path) -> bool:
        """Downloads a blob into ``dest`` (streamed); False when the server lacks it."""
        response = self._request("GET", f"cas/{digest}", stream=True)
        if response is None:
            return False
        with response, open(dest, "wb") as stream:
            for chunk in response.iter_content(1 << 20):
                stream.write(chunk)
        return True

    def put_blob(self, digest: str, path: Path) -> None:
        """Uploads a blob unless the server has it."""
        if self._send("HEAD", f"cas/{digest}"):
            return
        with open(path, "rb") as stream:
            self._send("PUT", f"cas/{digest}", data=stream)

    def put_manifest(self, key: str, manifest_json: bytes) -> None:
        """Uploads a manifest (signed when a key is configured)."""
        self._send("PUT", f"ac/{key}", data=self._wrap(manifest_json))

    # signing --------------------------------------------------------------------------------

    def _wrap(self, manifest_json: bytes) -> bytes:
        envelope: dict[str, Any] = {"conjure_manifest": manifest_json.decode()}
        if self.secret is not None:
            envelope["hmac_sha256"] = self._sign(manifest_json)
        return json.dumps(envelope, sort_keys=True).encode()

    def _unwrap(self, body: bytes) -> bytes | None:
        try:
            envelope = json.loads(body)
            manifest = envelope["conjure_manifest"].encode()
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if self.secret is None:
            return bytes(manifest)
        signature = envelope.get("hmac_sha256")
        if not isinstance(signature, str) or not hmac.compare_digest(
            signature, self._sign(manifest)
        ):
            return None
        return bytes(manifest)

    def _sign(self, data: bytes) -> str:
        assert self.secret is not None
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

    # transport --------------------------------------------------------------------------------

    def _get(self, path: str) -> bytes | None:
        response = self._request("GET", path)
        if response is None:
            return None
        with response:
            return bytes(response.content)

    def _send(self, method: str, path: str, **kwargs: Any) -> bool:
        """A request whose body is not needed; True when the server answered with success."""
        response = self._request(method, path, **kwargs)
        if response is None:
            return False
        response.close()
        return True

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; None on 404 (or when the remote is off).

        Raises nothing: a failure turns the remote off and records the warning.
        """
        if self._off:
            return None
        import requests

        try:
            response = self._session().request(
                method,
                f"{self.base}/{path}",
                timeout=(min(self.timeout, 3.0), self.timeout),
                **kwargs,
            )
        except requests.RequestException as err:
            self._turn_off(f"{type(err).__name__}: {_first_line(err)}")
            return None
        if response.status_code == 404:
            response.close()
            return None
        if response.status_code >= 400:
            response.close()
            self._turn_off(f"HTTP {response.status_code} for {method} /{path}")
            return None
        return response

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.headers["User-Agent"] = "conjure"
            self._local.session = session
        return session

    def _turn_off(self, why: str) -> None:
        with self._lock:
            if not self._off:
                self._off = True
                self.warning = (
                    f"remote cache {self.base} failed ({why}); continuing with the local "
                    "cache only for this run"
                )


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:160] if text else ""
