"""Frame-range expressions, as artists type them.

An expression is a comma-separated list of items; each item is a frame
(``7``), an inclusive range (``1-24``) or a range with a step (``1-24x4``,
which is 1, 5, 9, ... 21). Spaces around items are ignored. Frames are
non-negative integers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_ITEM = re.compile(r"(\d+)(?:-(\d+)(?:x(\d+))?)?")


@dataclass(frozen=True, order=True)
class FrameRange:
    """An inclusive range of frames with a positive step.

    Attributes:
        start: The first frame.
        end: The last frame asked for; the last frame rendered may be
            smaller when the step does not divide the span.
        step: The distance between frames, at least 1.
    """

    start: int
    end: int
    step: int = 1

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start or self.step < 1:
            raise ValueError(f"bad frame range {self.start}-{self.end}x{self.step}")

    def __len__(self) -> int:
        return (self.end - self.start) // self.step + 1

    def frames(self) -> range:
        """Returns the frames as a `range`."""
        return range(self.start, self.end + 1, self.step)


def parse_ranges(text: str) -> list[FrameRange]:
    """Parses an expression into its ranges, in the order written.

    Args:
        text: For example ``"1-10, 20, 30-40x2"``.

    Returns:
        One `FrameRange` per item; a single frame is a range of one.

    Raises:
        ValueError: The expression is empty or an item is malformed (the
            message names the item).
    """
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise ValueError("empty frame range")
    ranges = []
    for item in items:
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"bad frame range item {item!r}")
        start, end, step = match.groups()
        try:
            ranges.append(FrameRange(int(start), int(end or start), int(step or 1)))
        except ValueError as exc:
            raise ValueError(f"bad frame range item {item!r}: {exc}") from None
    return ranges


def parse_frames(text: str) -> list[int]:
    """Parses an expression into the sorted list of distinct frames.

    Raises:
        ValueError: As for `parse_ranges`.
    """
    frames: set[int] = set()
    for r in parse_ranges(text):
        frames.update(r.frames())
    return sorted(frames)


def format_frames(frames: Iterable[int]) -> str:
    """Writes frames as the shortest list of contiguous ranges.

    ``format_frames(parse_frames(s))`` describes the same frames as ``s``,
    with steps written out as single frames: ``[1, 2, 3, 7]`` gives
    ``"1-3,7"``. An empty input gives ``""``.
    """
    ordered = sorted(set(frames))
    if not ordered:
        return ""
    parts = []
    start = prev = ordered[0]
    for frame in ordered[1:]:
        if frame != prev + 1:
            parts.append(_item(start, prev))
            start = frame
        prev = frame
    parts.append(_item(start, prev))
    return ",".join(parts)


def _item(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}-{end}"
