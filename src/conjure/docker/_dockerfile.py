"""What a Dockerfile builds from: its base images, after build-argument substitution."""

from __future__ import annotations

import re
from collections.abc import Mapping

_VARIABLE = re.compile(r"\$\{(\w+)(?::?([-+])([^}]*))?\}|\$(\w+)")


def logical_lines(text: str) -> list[str]:
    """The instructions of a Dockerfile: comments dropped, continuation lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending.strip():
        lines.append(pending.strip())
    return lines


def expand(word: str, values: Mapping[str, str]) -> str:
    """Substitutes ``$NAME``, ``${NAME}``, ``${NAME:-default}`` and ``${NAME:+alt}``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = values.get(name, "")
        if match.group(2) == "-":
            return value or match.group(3)
        if match.group(2) == "+":
            return match.group(3) if value else ""
        return value

    return _VARIABLE.sub(replace, word)


def base_images(text: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile's stages start ``FROM``, in order, without duplicates.

    Global ``ARG`` defaults (before the first ``FROM``) are overridden by ``build_args``;
    references to earlier stages and ``scratch`` are not images. Images named only in
    ``COPY --from=<image>`` are not included.
    """
    values: dict[str, str] = {}
    stages: set[str] = set()
    found: list[str] = []
    seen_from = False
    for line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not seen_from:
            for item in rest.split():
                name, has_default, default = item.partition("=")
                values[name] = build_args.get(name, default.strip("\"'") if has_default else "")
        elif keyword == "FROM":
            seen_from = True
            words = [w for w in rest.split() if not w.startswith("--")]
            image = expand(words[0], values) if words else ""
            if image and image.lower() not in stages and image != "scratch" and image not in found:
                found.append(image)
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
    return found
