"""Settings: sources, precedence, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conjure.errors import ConfigError
from conjure.settings import load_settings


def test_precedence_and_sources(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.conjure]\nhash = "sha256"\njobs = 2\n')
    settings = load_settings(tmp_path, {"jobs": 3}, {"output": "plain"}, {"CONJURE_JOBS": "4"})
    assert (settings.hash, settings.jobs, settings.output) == ("sha256", 4, "plain")
    assert settings.source_of("hash") == "pyproject.toml [tool.conjure]"
    assert settings.source_of("jobs") == "environment"
    assert settings.source_of("keep_going") == "default"


def test_unknown_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'hashes'"):
        load_settings(tmp_path, {"hashes": "x"}, {}, {})


def test_pools_from_environment(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {}, {}, {"CONJURE_POOLS": "docker=1,net=2"})
    assert settings.pools == {"docker": 1, "net": 2}


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.conjure\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(tmp_path, {}, {}, {})
