"""Job specs: what the farm is asked to render, checked before it is sent.

The limits match the Go server's `internal/jobs` package, so a spec that
passes `JobSpec.validate` is accepted by ``POST /api/jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polyglot_addon._frames import format_frames, parse_frames

MAX_PRIORITY = 100
MAX_FRAMES = 100_000


class SpecError(ValueError):
    """A job spec is invalid; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class JobSpec:
    """One render job: a scene over a contiguous, inclusive frame range."""

    name: str
    scene: str
    frame_start: int
    frame_end: int
    priority: int = 50

    def problems(self) -> list[str]:
        """Returns every reason the spec is invalid; empty when it is valid."""
        found = []
        if not self.name.strip():
            found.append("name is empty")
        if not self.scene.strip():
            found.append("scene is empty")
        if self.frame_start < 0:
            found.append(f"frame_start {self.frame_start} is negative")
        if self.frame_end < self.frame_start:
            found.append(f"frame_end {self.frame_end} is before frame_start {self.frame_start}")
        elif self.frame_end - self.frame_start + 1 > MAX_FRAMES:
            found.append(f"{self.frame_end - self.frame_start + 1} frames is more than {MAX_FRAMES}")
        if not 0 <= self.priority <= MAX_PRIORITY:
            found.append(f"priority {self.priority} is outside 0..{MAX_PRIORITY}")
        return found

    def validate(self) -> JobSpec:
        """Returns the spec itself if it is valid.

        Raises:
            SpecError: Listing every problem found.
        """
        found = self.problems()
        if found:
            raise SpecError(found)
        return self

    def to_json(self) -> dict[str, Any]:
        """Returns the body of ``POST /api/jobs`` for this spec."""
        return {
            "name": self.name,
            "scene": self.scene,
            "frame_start": self.frame_start,
            "frame_end": self.frame_end,
            "priority": self.priority,
        }


def specs_for(name: str, scene: str, frames: str, priority: int = 50) -> list[JobSpec]:
    """Builds one valid spec per contiguous run of a frame expression.

    ``specs_for("hero", "s.usd", "1-10,20-29")`` gives two jobs, named
    ``hero[1-10]`` and ``hero[20-29]``; a single run keeps the plain name.

    Raises:
        ValueError: The frame expression does not parse.
        SpecError: A resulting spec is invalid (for example, an empty scene).
    """
    runs = format_frames(parse_frames(frames)).split(",")
    specs = []
    for run in runs:
        first, _, last = run.partition("-")
        label = name if len(runs) == 1 else f"{name}[{run}]"
        spec = JobSpec(label, scene, int(first), int(last or first), priority)
        specs.append(spec.validate())
    return specs
