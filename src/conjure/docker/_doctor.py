"""``doit doctor``: is this machine ready for dev images? Each check gives one line.

Blockers (``FAIL``) make the command exit 1; warnings say what they cost and how to fix them.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from conjure.docker._tools import compose_version, find_builder, find_compose
from conjure.errors import ConfigError

OK, WARN, FAIL = "ok", "WARN", "FAIL"


@dataclass(frozen=True)
class Finding:
    """One check's result."""

    status: str
    topic: str
    message: str


def check_engine() -> Finding:
    """The Docker engine answers, through the Docker SDK (docker-py)."""
    import docker  # the SDK: worth its import time here, not on the no-op path

    try:
        client = docker.from_env(timeout=10)
        version = client.version()
    except docker.errors.DockerException as err:
        from conjure.docker._engine import START_HINT

        return Finding(FAIL, "engine", f"not reachable ({_first_line(err)}): {START_HINT}")
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    text = f"Docker {version.get('Version')} (API {version.get('ApiVersion')}) at {host}"
    return Finding(OK, "engine", text)


def check_buildkit() -> Finding:
    """A client that can run BuildKit builds exists."""
    try:
        return Finding(OK, "buildkit", find_builder().description)
    except ConfigError as err:
        return Finding(FAIL, "buildkit", str(err))


def check_compose() -> Finding:
    """Compose v2 or v1 exists."""
    try:
        command = find_compose()
    except ConfigError as err:
        return Finding(FAIL, "compose", str(err))
    version = compose_version(command)
    kind = "v2" if command[-1] == "compose" and len(command) == 2 else "v1"
    return Finding(OK, "compose", f"{' '.join(command)} {version} ({kind})")


def _goproxy() -> str:
    go = shutil.which("go")
    if go:
        done = subprocess.run([go, "env", "GOPROXY"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return done.stdout.strip()
    return os.environ.get("GOPROXY", "https://proxy.golang.org,direct")


GOPROXY_FIX = "go env -w GOPROXY=https://proxy.golang.org,direct (or your mirror's URL first)"


def check_goproxy(value: str | None = None) -> Finding:
    """GOPROXY uses a module proxy; ``direct`` and ``off`` are flagged with what they cost."""
    value = _goproxy() if value is None else value
    entries = [e.strip() for e in value.replace("|", ",").split(",") if e.strip()]
    if not entries or entries[0] == "off":
        return Finding(
            FAIL, "goproxy", f"GOPROXY={value}: no module can be downloaded; fix: {GOPROXY_FIX}"
        )
    if all(e == "direct" for e in entries):
        return Finding(
            WARN,
            "goproxy",
            f"GOPROXY={value}: every module is cloned from its VCS (slow, needs git and "
            f"credentials, no checksum cache; image builds can take very long); fix: {GOPROXY_FIX}",
        )
    return Finding(OK, "goproxy", f"GOPROXY={value}")


def check_proxy_reachable(value: str | None = None) -> Finding:
    """The first proxy URL in GOPROXY answers HTTP."""
    value = _goproxy() if value is None else value
    urls = [e for e in value.replace("|", ",").split(",") if e.startswith(("http://", "https://"))]
    if not urls:
        return Finding(OK, "proxy", "no proxy URL in GOPROXY to reach")
    url = urls[0].rstrip("/") + "/"
    context = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or None)
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            code = response.status
    except urllib.error.HTTPError as err:  # an HTTP answer: the proxy is there
        code = err.code
    except (OSError, ValueError) as err:
        return Finding(FAIL, "proxy", f"{url} does not answer ({_first_line(err)})")
    return Finding(OK, "proxy", f"{url} answers (HTTP {code})")


def check_uv() -> Finding:
    """uv is installed (for locking on the host; images bring their own)."""
    uv = shutil.which("uv")
    if not uv:
        return Finding(WARN, "uv", "uv not found: install it (pip install uv) to lock and sync")
    done = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False)
    return Finding(OK, "uv", done.stdout.strip() or uv)


def check_ca_bundle() -> Finding:
    """The CA bundle given to builds (secret ``cacert``) exists and holds certificates."""
    path = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    source = "SSL_CERT_FILE" if os.environ.get("SSL_CERT_FILE") else "system bundle"
    try:
        with open(path, encoding="ascii", errors="replace") as bundle:
            count = bundle.read().count("BEGIN CERTIFICATE")
    except OSError as err:
        status = FAIL if source == "SSL_CERT_FILE" else WARN
        return Finding(status, "ca-bundle", f"{path} ({source}): {err.strerror or err}")
    if count == 0:
        return Finding(FAIL, "ca-bundle", f"{path} ({source}) holds no certificate")
    return Finding(
        OK, "ca-bundle", f"{path} ({source}, {count} certificates; builds get it as secret cacert)"
    )


CHECKS: tuple[Callable[[], Finding], ...] = (
    check_engine,
    check_buildkit,
    check_compose,
    check_goproxy,
    check_proxy_reachable,
    check_uv,
    check_ca_bundle,
)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def main_doctor() -> int:
    """Runs every check, prints one line each and a summary; 1 when something blocks."""
    findings = [check() for check in CHECKS]
    for finding in findings:
        print(f"{finding.status:<4}  {finding.topic:<9}  {finding.message}")
    blockers = [f.topic for f in findings if f.status == FAIL]
    warnings = [f.topic for f in findings if f.status == WARN]
    if blockers:
        print(f"{len(blockers)} blocking: {', '.join(blockers)}")
        return 1
    print("ready" + (f" ({len(warnings)} warning(s): {', '.join(warnings)})" if warnings else ""))
    return 0
