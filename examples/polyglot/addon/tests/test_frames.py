import time

import pytest

from polyglot_addon import FrameRange, format_frames, parse_frames, parse_ranges


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "frames"),
    [
        ("7", [7]),
        ("1-5", [1, 2, 3, 4, 5]),
        ("1-10x3", [1, 4, 7, 10]),
        ("1-9x4", [1, 5, 9]),
        (" 3, 1-2 ,2", [1, 2, 3]),
        ("0", [0]),
    ],
)
def test_parse_frames(text: str, frames: list[int]) -> None:
    assert parse_frames(text) == frames


@pytest.mark.unit
@pytest.mark.parametrize("text", ["", " , ", "a", "1-", "-3", "5-1", "1-5x0", "1..5", "1-5,,7"])
def test_parse_frames_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="frame range"):
        parse_frames(text)


@pytest.mark.unit
def test_parse_ranges_keeps_order_and_steps() -> None:
    assert parse_ranges("20-30x5, 1") == [FrameRange(20, 30, 5), FrameRange(1, 1)]
    assert len(FrameRange(1, 10, 4)) == 3  # 1, 5, 9


@pytest.mark.unit
@pytest.mark.parametrize(
    ("frames", "text"),
    [([], ""), ([4], "4"), ([3, 1, 2, 2], "1-3"), ([1, 2, 3, 7, 9, 10], "1-3,7,9-10")],
)
def test_format_frames(frames: list[int], text: str) -> None:
    assert format_frames(frames) == text


@pytest.mark.performance
def test_large_range_round_trip_is_fast() -> None:
    start = time.perf_counter()
    frames = parse_frames("1-500000, 1000000-1250000x2, 3000000")
    text = format_frames(frames)
    elapsed = time.perf_counter() - start

    assert len(frames) == 500_000 + 125_001 + 1
    assert text.startswith("1-500000,1000000,1000002,")
    assert parse_frames(text) == frames
    assert elapsed < 2.0, f"parsing and formatting took {elapsed:.2f} s"
