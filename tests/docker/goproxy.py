"""A Go module proxy for tests: the GOPROXY protocol as plain files, served on 127.0.0.1.

``publish`` writes a module version (``@v/list``, ``.info``, ``.mod``, ``.zip``) into a
folder; ``python goproxy.py serve ROOT PORT LOG`` serves that folder and appends one line per
request (``GET /example.test/greet/@v/v1.0.0.zip 200 auth``) to LOG, so a test can tell which module
versions a build fetched. Standard library only: CI runs it with the system Python.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def publish(root: Path, module: str, version: str, files: dict[str, str]) -> None:
    """Writes one module version into a proxy folder (idempotent).

    Args:
        root: the proxy's folder.
        module: the module path, lower case (``example.test/greet``).
        version: a semantic version (``v1.0.0``).
        files: path inside the module -> content; ``go.mod`` is added when missing.
    """
    files = {"go.mod": f"module {module}\n\ngo 1.22\n", **files}
    folder = root / module / "@v"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            info = zipfile.ZipInfo(f"{module}@{version}/{name}", (2020, 1, 1, 0, 0, 0))
            archive.writestr(info, text)
    (folder / f"{version}.zip").write_bytes(buffer.getvalue())
    (folder / f"{version}.mod").write_text(files["go.mod"])
    info_text = json.dumps({"Version": version, "Time": "2020-01-01T00:00:00Z"})
    (folder / f"{version}.info").write_text(info_text)
    listed = (folder / "list").read_text().split() if (folder / "list").exists() else []
    (folder / "list").write_text("".join(f"{v}\n" for v in sorted({*listed, version})))


class _Handler(SimpleHTTPRequestHandler):
    log_path: Path

    def log_message(self, format: str, *args: object) -> None:
        auth = "auth" if self.headers.get("Authorization") else "noauth"
        with self.log_path.open("a") as log:
            log.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''} {auth}\n")


def serve(root: Path, port: int, log: Path) -> None:
    """Serves ``root`` on 127.0.0.1:port until killed, logging requests to ``log``."""
    handler = type("Handler", (_Handler,), {"log_path": log})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(root)))
    server.serve_forever()


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "serve":
        serve(Path(argv[1]), int(argv[2]), Path(argv[3]))
        return 0
    if len(argv) == 4 and argv[0] == "publish":
        module, version = argv[2], argv[3]
        publish(Path(argv[1]), module, version, {"greet.go": greet_source(module, version)})
        return 0
    print("usage: goproxy.py serve ROOT PORT LOG | publish ROOT MODULE VERSION", file=sys.stderr)
    return 2


def greet_source(module: str, version: str) -> str:
    package = module.rsplit("/", 1)[-1]
    return f'package {package}\n\n// Hello greets.\nfunc Hello() string {{ return "hello from {version}" }}\n'


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
