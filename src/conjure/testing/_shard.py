"""Shard assignment by recorded durations: pure functions, deterministic for the same inputs.

Longest first onto the least-loaded bin (LPT); ties go to the lowest bin number and tests of
equal duration are taken in key order, so N CI workers compute the same split on their own.
"""

from __future__ import annotations

import heapq
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conjure.errors import ConfigError

DEFAULT_DURATION = 1.0
"""Seconds assumed for every test when no test has a recorded duration."""

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class ShardSpec:
    """The K-th of N shards (both from 1).

    Attributes:
        index: K, from 1 to ``total``.
        total: N, at least 1.
    """

    index: int = 1
    total: int = 1

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> ShardSpec:
    """Parses ``K/N``; an empty text is ``1/1``.

    Raises:
        ConfigError: not two numbers, N < 1, or K not in 1..N.
    """
    if not text.strip():
        return ShardSpec()
    match = _SHARD.match(text)
    if match is None:
        raise ConfigError(f"invalid shard {text!r}: expected K/N with whole numbers, e.g. 1/4")
    index, total = int(match[1]), int(match[2])
    if total < 1 or not 1 <= index <= total:
        raise ConfigError(f"invalid shard {text!r}: K must be between 1 and N (N >= 1), e.g. 1/4")
    return ShardSpec(index, total)


def estimate(keys: Sequence[str], durations: Mapping[str, float]) -> dict[str, float]:
    """Each test's expected seconds: its recorded duration, else the mean of the known ones.

    Args:
        keys: the tests.
        durations: recorded seconds by test key (may hold tests that no longer exist).
    """
    known = [durations[k] for k in keys if k in durations]
    mean = sum(known) / len(known) if known else DEFAULT_DURATION
    return {key: durations.get(key, mean) for key in keys}


def assign(weights: Mapping[str, float], bins: int) -> list[list[str]]:
    """Splits tests into ``bins`` lists, longest first onto the least-loaded bin.

    Returns:
        ``bins`` lists of keys; each list is sorted by key (the run order is chosen later).
    """
    if bins < 1:
        raise ValueError("bins must be >= 1")
    heap = [(0.0, index) for index in range(bins)]
    result: list[list[str]] = [[] for _ in range(bins)]
    for key in sorted(weights, key=lambda k: (-weights[k], k)):
        load, index = heapq.heappop(heap)
        result[index].append(key)
        heapq.heappush(heap, (load + weights[key], index))
    return [sorted(keys) for keys in result]


def assign_by_count(keys: Sequence[str], bins: int) -> list[list[str]]:
    """The naive split (for comparison): equal counts, in key order."""
    ordered = sorted(keys)
    size, extra = divmod(len(ordered), bins)
    result, start = [], 0
    for index in range(bins):
        end = start + size + (1 if index < extra else 0)
        result.append(ordered[start:end])
        start = end
    return result


def chunk_tests(weights: Mapping[str, float], count: int) -> list[list[str]]:
    """Splits one shard's tests into at most ``count`` chunks, each run as its own test
    process: longest first onto the lightest chunk, then the chunks heaviest first (the order
    in which free local workers take them). Empty chunks are dropped.

    Returns:
        The chunks' keys, each sorted by key.
    """
    chunks = [keys for keys in assign(weights, max(1, count)) if keys]
    return sorted(chunks, key=lambda keys: (-sum(weights[k] for k in keys), keys[0]))


def shuffled(keys: Sequence[str], seed: int) -> list[str]:
    """A reproducible order: the same keys and seed give the same order everywhere."""
    ordered = sorted(keys)
    random.Random(seed).shuffle(ordered)
    return ordered


def balance(loads: Sequence[float]) -> float:
    """Slowest shard over the mean shard (1.0 is perfect); 0 shards or no load gives 1.0."""
    if not loads or sum(loads) == 0:
        return 1.0
    return max(loads) / (sum(loads) / len(loads))
