"""Digester.of_file: the same digest as hashing the bytes, at every size and algorithm."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from blake3 import blake3

from conjure.engine.hashing import Digester


@pytest.mark.parametrize("size", [0, 1, 4096, 3 << 20, 9 << 20])
@pytest.mark.parametrize("algorithm", ["blake3", "sha256"])
def test_file_digest_equals_the_digest_of_its_bytes(
    tmp_path: Path, size: int, algorithm: str
) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = (
        blake3(data).hexdigest() if algorithm == "blake3" else hashlib.sha256(data).hexdigest()
    )
    assert Digester(algorithm).of_file(str(path), size) == expected


def test_a_file_that_grew_after_its_stat_is_hashed_whole(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"longer than the stat said")
    assert Digester("sha256").of_file(str(path), 3) == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("stale_size", [0, 10, 24, 26, 4096])
def test_a_file_whose_stat_size_is_stale_is_hashed_whole(tmp_path: Path, stale_size: int) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"twenty-five bytes exactly")
    expected = blake3(path.read_bytes()).hexdigest()
    assert Digester("blake3").of_file(str(path), stale_size) == expected
