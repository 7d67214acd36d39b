"""Plugin config validation (WF105): every bad field at once, with its path."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from wiseflow import ConfigError
from wiseflow._contract._config import build_config, config_schema


class Cfg(msgspec.Struct, frozen=True):
    root: str
    depth: int = 2
    kinds: list[str] = []


def test_valid_config_builds_the_struct() -> None:
    """Given values are converted and defaults filled in."""
    assert build_config(Cfg, {"root": "/x", "depth": 3}, "p") == Cfg(root="/x", depth=3)


def test_every_problem_is_listed() -> None:
    """Unknown, missing and wrongly typed fields are each reported with their path."""
    with pytest.raises(ConfigError) as info:
        build_config(Cfg, {"depth": "deep", "kinds": ["a", 3], "colour": "red"}, "p")
    msgs = [p.message for p in info.value.problems]
    assert info.value.code == "WF105"
    assert msgs[0].startswith("config.colour: unknown field")
    assert "config.root: required" in msgs
    assert any(m.startswith("config.depth: Expected `int`, got `str`") for m in msgs)
    assert any("config.kinds[1]" in m for m in msgs)
    assert all(p.plugin == "p" for p in info.value.problems)


def test_dataclass_configs_work_too() -> None:
    """A dataclass Config is validated the same way."""

    @dataclasses.dataclass
    class DC:
        n: int = 1

    assert build_config(DC, {"n": 4}, "p") == DC(n=4)
    with pytest.raises(ConfigError):
        build_config(DC, {"n": "x"}, "p")


def test_plugin_without_config_refuses_any_key() -> None:
    """A plugin that declares no Config gets {} and rejects given keys."""
    assert build_config(None, {}, "p") == {}
    with pytest.raises(ConfigError, match="takes no configuration"):
        build_config(None, {"x": 1}, "p")


def test_schema_is_json_schema() -> None:
    """The Config exports as JSON Schema with its fields."""
    schema = config_schema(Cfg)
    assert schema is not None
    assert "root" in str(schema)
    assert config_schema(None) is None
