"""Dev images: the content key, the up-to-date check and the build.

An image is tagged ``<name>:<target>-<key>``, where the key digests the Dockerfile (and its
ignore file), the declared input files (lockfiles, go.mod/go.sum), the build arguments, the
target and the IDs of the base images the engine has. When that tag exists, there is nothing
to build; the check costs a few file reads and one small API call per image.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conjure.docker._dockerfile import base_images
from conjure.docker._engine import Engine
from conjure.docker._tools import Builder, find_builder
from conjure.errors import EXIT_TASK_FAILED, ConfigError, ConjureError


class BuildFailedError(ConjureError):
    """The image build failed; its log was streamed above (exit code 1, the task failed)."""

    exit_code = EXIT_TASK_FAILED


KEY_FORMAT = "conjure-image/1"
"""Changes when the key's recipe changes, so old tags are not trusted by a new recipe."""


@dataclass(frozen=True)
class ImageSpec:
    """What to build. Paths are relative to the dodo.py folder (doit's working directory).

    Attributes:
        name: the image repository (``myrepo-dev``); tags are ``<name>:<target>-<key>`` and
            ``<name>:<target>``.
        dockerfile: the Dockerfile.
        context: the build context folder.
        inputs: files whose content is part of the key (lockfiles, go.mod, go.sum...).
        build_args: ``--build-arg`` values, sorted ``(name, value)`` pairs.
        secrets: BuildKit secrets, ``(id, file)`` pairs; never part of the key or the image.
        network: ``--network`` for the build's RUN steps ("" for the default).
    """

    name: str
    dockerfile: str = "Dockerfile.dev"
    context: str = "."
    inputs: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()
    network: str = ""

    def to_json(self) -> str:
        """The spec as canonical JSON (for the build command line)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ImageSpec:
        """The inverse of ``to_json``."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            name=data["name"],
            dockerfile=data["dockerfile"],
            context=data["context"],
            inputs=tuple(data["inputs"]),
            build_args=tuple((k, v) for k, v in data["build_args"]),
            secrets=tuple((k, v) for k, v in data["secrets"]),
            network=data["network"],
        )


def image_spec(
    name: str,
    *,
    dockerfile: str = "Dockerfile.dev",
    context: str = ".",
    inputs: Sequence[str] = (),
    build_args: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    network: str = "",
) -> ImageSpec:
    """Builds an ``ImageSpec`` from plain values (mappings are sorted).

    ``DEV_UID``/``DEV_GID`` default to the current user's IDs (unless root), so files written
    in bind mounts belong to the developer.
    """
    args = dict(build_args or {})
    if hasattr(os, "getuid") and os.getuid() != 0:
        args.setdefault("DEV_UID", str(os.getuid()))
        args.setdefault("DEV_GID", str(os.getgid()))
    return ImageSpec(
        name=name,
        dockerfile=dockerfile,
        context=context,
        inputs=tuple(sorted(set(inputs))),
        build_args=tuple(sorted((k, str(v)) for k, v in args.items())),
        secrets=tuple(sorted((secrets or {}).items())),
        network=network,
    )


def default_secrets() -> dict[str, str]:
    """``cacert``: ``$SSL_CERT_FILE`` or the system CA bundle; ``netrc``: ``$NETRC`` or
    ``~/.netrc``; each only when the file exists."""
    found = {}
    ca = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    if os.path.isfile(ca):
        found["cacert"] = ca
    netrc = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    if os.path.isfile(netrc):
        found["netrc"] = netrc
    return found


def _ignore_file(spec: ImageSpec) -> Path | None:
    for candidate in (Path(spec.dockerfile + ".dockerignore"), Path(spec.context, ".dockerignore")):
        if candidate.is_file():
            return candidate
    return None


def read_dockerfile(spec: ImageSpec) -> bytes:
    """The Dockerfile's bytes.

    Raises:
        ConfigError: it does not exist.
    """
    try:
        return Path(spec.dockerfile).read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read {spec.dockerfile}: {err.strerror or err}") from None


def bases(spec: ImageSpec, engine: Engine) -> dict[str, str | None]:
    """The base images the Dockerfile starts from, with their local IDs (None: missing)."""
    text = read_dockerfile(spec).decode(errors="replace")
    return {ref: engine.image_id(ref) for ref in base_images(text, dict(spec.build_args))}


def content_key(spec: ImageSpec, target: str, base_ids: Mapping[str, str | None]) -> str:
    """A digest of everything that decides the image; equal keys mean equal images."""
    digest = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    feed("format", KEY_FORMAT.encode())
    feed("target", target.encode())
    feed("dockerfile", read_dockerfile(spec))
    ignore = _ignore_file(spec)
    feed("ignore", ignore.read_bytes() if ignore else b"")
    for path in spec.inputs:
        file = Path(path)
        feed("input:" + path, file.read_bytes() if file.is_file() else b"\0missing")
    for name, value in spec.build_args:
        feed("arg:" + name, value.encode())
    for ref, ident in sorted(base_ids.items()):
        feed("base:" + ref, (ident or "missing").encode())
    return digest.hexdigest()[:16]


def tags(spec: ImageSpec, target: str, key: str) -> tuple[str, str]:
    """The content tag (``name:target-key``) and the moving tag (``name:target``)."""
    return f"{spec.name}:{target}-{key}", f"{spec.name}:{target}"


def current_tag(spec: ImageSpec, target: str, engine: Engine | None = None) -> str | None:
    """The content tag when the engine has it (nothing to build), else None."""
    engine = engine or Engine()
    base_ids = bases(spec, engine)
    if None in base_ids.values():
        return None
    tag, _ = tags(spec, target, content_key(spec, target, base_ids))
    return tag if engine.image_id(tag) else None


def ensure_image(spec: ImageSpec, target: str, *, quiet: bool = False) -> str:
    """Builds the image unless its content tag exists; returns the content tag.

    Missing base images are pulled first (their IDs are part of the key). Build output goes
    to this process's stdout and stderr as it comes.

    Raises:
        ConfigError: no BuildKit client, a base image that cannot be pulled, a missing secret
            file, or a failed build (the message names the command; its log was streamed).
    """
    engine = Engine()
    base_ids = bases(spec, engine)
    missing = [ref for ref, ident in base_ids.items() if ident is None]
    builder = find_builder() if missing else None
    for ref in missing:
        assert builder is not None
        _pull(builder, ref, spec)
        base_ids[ref] = engine.image_id(ref)
    tag, moving = tags(spec, target, content_key(spec, target, base_ids))
    if engine.image_id(tag):
        engine.tag(tag, *moving.rsplit(":", 1))
        if not quiet:
            print(f"image {tag} is up to date (nothing to build)", flush=True)
        return tag
    builder = builder or find_builder()
    _check_secrets(spec)
    argv = build_argv(builder, spec, target, (tag, moving))
    print(f"building {tag} (target {target}) with {builder.description}", flush=True)
    code = subprocess.run(argv, env={**os.environ, **builder.env}, check=False).returncode
    if code != 0:
        raise BuildFailedError(f"image build failed (exit {code}): the failed step's log is above")
    print(f"built {tag} (also tagged {moving})", flush=True)
    return tag


def build_argv(builder: Builder, spec: ImageSpec, target: str, names: Sequence[str]) -> list[str]:
    """The build command line."""
    argv = [*builder.argv, "--progress=plain", "-f", spec.dockerfile, "--target", target]
    for name in names:
        argv += ["-t", name]
    for arg, value in spec.build_args:
        argv += ["--build-arg", f"{arg}={value}"]
    for ident, source in spec.secrets:
        argv += ["--secret", f"id={ident},src={source}"]
    if spec.network:
        argv += ["--network", spec.network]
    return [*argv, spec.context]


def _pull(builder: Builder, ref: str, spec: ImageSpec) -> None:
    print(f"pulling base image {ref}", flush=True)
    done = subprocess.run([builder.client, "pull", ref], check=False)
    if done.returncode != 0:
        args = [name for name, value in spec.build_args if value == ref]
        hint = f" (set by build argument {args[0]})" if args else ""
        raise ConfigError(
            f"base image {ref}{hint} is not in the engine and cannot be pulled: "
            "pull or build it, or pass an image you have as a build argument"
        )


def _check_secrets(spec: ImageSpec) -> None:
    for ident, source in spec.secrets:
        if not os.path.isfile(source):
            raise ConfigError(f"secret {ident!r}: {source} does not exist")


def main_build(spec_json: str, target: str) -> int:
    """``python -m conjure.docker build SPEC TARGET``."""
    ensure_image(ImageSpec.from_json(spec_json), target)
    sys.stdout.flush()
    return 0
