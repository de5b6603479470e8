"""Shard assignment: pure functions, checked on generated suites."""

from __future__ import annotations

import random

import pytest

from conjure.errors import ConfigError
from conjure.testing._plan import Collected, describe_plan, make_plan
from conjure.testing._shard import (
    ShardSpec,
    assign,
    assign_by_count,
    balance,
    chunk_tests,
    estimate,
    parse_shard,
    shuffled,
)


@pytest.mark.parametrize("text", ["3/2", "0/4", "a/b", "1/0", "1", "-1/2", "1/2/3"])
def test_invalid_shard_specs_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="invalid shard"):
        parse_shard(text)


def test_valid_shard_specs() -> None:
    assert parse_shard("2/4") == ShardSpec(2, 4)
    assert parse_shard(" 1 / 1 ") == ShardSpec(1, 1)
    assert parse_shard("") == ShardSpec(1, 1)


def _skewed(count: int, seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    return {f"t{i:03d}": 0.001 * (3000 ** rng.random()) for i in range(count)}


def test_recorded_durations_balance_a_skewed_suite_where_counts_do_not() -> None:
    weights = _skewed(300)
    by_time = [sum(weights[k] for k in shard) for shard in assign(weights, 4)]
    by_count = [sum(weights[k] for k in shard) for shard in assign_by_count(list(weights), 4)]
    assert balance(by_time) <= 1.05
    assert balance(by_time) < balance(by_count)


def test_assignment_is_deterministic_and_complete() -> None:
    weights = _skewed(101, seed=3)
    first = assign(weights, 4)
    reordered = dict(reversed(list(weights.items())))
    assert assign(reordered, 4) == first
    flat = [k for shard in first for k in shard]
    assert sorted(flat) == sorted(weights) and len(flat) == len(set(flat))


def test_unknown_tests_get_the_mean_of_known_ones() -> None:
    assert estimate(["a", "b", "c"], {"a": 1.0, "b": 3.0, "gone": 100.0}) == {
        "a": 1.0,
        "b": 3.0,
        "c": 2.0,
    }
    assert estimate(["x"], {}) == {"x": 1.0}


def test_chunks_split_a_shard_by_duration_heaviest_first() -> None:
    weights = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 3.0, "e": 1.0}
    assert chunk_tests(weights, 3) == [["c", "d"], ["a"], ["b", "e"]]  # 6s, 5s, 5s
    assert chunk_tests(weights, 1) == [["a", "b", "c", "d", "e"]]
    assert chunk_tests({"a": 1.0}, 4) == [["a"]]  # no empty chunks


def test_chunks_of_this_shard_are_planned_per_suite() -> None:
    tests = [
        Collected(suite, 0, f"pytest:p:{name}", name, f"p/{name}")
        for suite, name in [("unit", "t1"), ("unit", "t2"), ("unit", "t3"), ("api", "t4")]
    ]
    durations = {"pytest:p:t1": 3.0, "pytest:p:t2": 1.0, "pytest:p:t3": 1.0, "pytest:p:t4": 1.0}
    plan = make_plan(tests, durations, ShardSpec(1, 1), chunks=2)
    assert plan["suite_chunks"] == {
        "unit": [
            {"predicted": 3.0, "run": {"0": ["t1"]}},
            {"predicted": 2.0, "run": {"0": ["t2", "t3"]}},
        ],
        "api": [{"predicted": 1.0, "run": {"0": ["t4"]}}],
    }
    assert "suite unit: 2 chunk(s) on this shard, predicted 3.00s, 2.00s" in describe_plan(
        plan, ["unit", "api"]
    )


def test_shuffle_is_reproducible_by_seed() -> None:
    keys = [f"k{i}" for i in range(30)]
    assert shuffled(keys, 5) == shuffled(list(reversed(keys)), 5)
    assert shuffled(keys, 5) != shuffled(keys, 6)


def test_more_shards_than_tests_leaves_empty_shards() -> None:
    assert assign({"a": 1.0}, 3) == [["a"], [], []]
