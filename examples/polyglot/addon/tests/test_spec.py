import pytest

from polyglot_addon import MAX_FRAMES, JobSpec, SpecError, specs_for

pytestmark = pytest.mark.unit


def test_valid_spec_round_trips_to_json() -> None:
    spec = JobSpec("hero", "shot010.usd", 1001, 1096, priority=90).validate()
    assert spec.to_json() == {
        "name": "hero",
        "scene": "shot010.usd",
        "frame_start": 1001,
        "frame_end": 1096,
        "priority": 90,
    }


def test_validate_lists_every_problem() -> None:
    with pytest.raises(SpecError) as caught:
        JobSpec(" ", "", -1, -5, priority=101).validate()
    assert caught.value.problems == [
        "name is empty",
        "scene is empty",
        "frame_start -1 is negative",
        "frame_end -5 is before frame_start -1",
        "priority 101 is outside 0..100",
    ]


def test_too_many_frames() -> None:
    assert JobSpec("a", "s", 0, MAX_FRAMES - 1).problems() == []
    too_many = JobSpec("a", "s", 0, MAX_FRAMES)
    assert too_many.problems() == [f"{MAX_FRAMES + 1} frames is more than {MAX_FRAMES}"]


def test_specs_for_splits_runs() -> None:
    specs = specs_for("hero", "s.usd", "20-29, 1-10", priority=10)
    assert [(s.name, s.frame_start, s.frame_end) for s in specs] == [
        ("hero[1-10]", 1, 10),
        ("hero[20-29]", 20, 29),
    ]
    assert specs_for("one", "s.usd", "5")[0] == JobSpec("one", "s.usd", 5, 5)


def test_specs_for_errors() -> None:
    with pytest.raises(ValueError, match="frame range"):
        specs_for("a", "s.usd", "x")
    with pytest.raises(SpecError, match="scene is empty"):
        specs_for("a", "", "1-3")
