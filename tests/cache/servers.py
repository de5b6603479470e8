"""Real HTTP servers for the remote cache tests: nginx with WebDAV, and a faulty one."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

NGINX_CONF = """
{user}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            root {root}/data;
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


@contextmanager
def nginx_dav(root: Path) -> Iterator[tuple[str, Path]]:
    """Starts nginx with WebDAV on a free port; yields its URL and its data folder."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed; .ci/run installs it (apt-get install nginx-core)")
        pytest.skip(
            "nginx is not installed (apt-get install nginx-core); remote cache tests skipped"
        )
    port = free_port()
    (root / "data").mkdir(parents=True)
    conf = root / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the tmp folder
    conf.write_text(NGINX_CONF.format(root=root, port=port, user=user))
    proc = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        yield f"http://127.0.0.1:{port}/cache", root / "data" / "cache"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class _Faulty(BaseHTTPRequestHandler):
    mode = "500"

    def _fault(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        if self.mode == "500":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.mode == "hang":
            time.sleep(30)
        elif self.mode == "close":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()

    do_GET = do_PUT = do_HEAD = _fault  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def faulty_server(mode: str) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    """A real server on 127.0.0.1 that answers 500, hangs, or closes the connection."""
    handler = type("Handler", (_Faulty,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.requests = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cache", server
    finally:
        server.shutdown()
        server.server_close()
