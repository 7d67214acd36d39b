"""Every bundled plugin documents its configuration (SPEC §9, §13)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

import wiseflow.plugins

BUNDLED = sorted(p.parent for p in Path(wiseflow.plugins.__file__).parent.glob("*/plugin.toml"))


def _config_of(folder: Path) -> Any:
    entry = msgspec.toml.decode((folder / "plugin.toml").read_bytes())["plugin"]["entry"]
    module, _, qualname = entry.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return getattr(obj, "Config", None)


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema["$ref"].rsplit("/", 1)[-1]
    props: dict[str, Any] = schema["$defs"][ref]["properties"]
    return props


CONFIGURED = [f for f in BUNDLED if _config_of(f) is not None]


def test_most_bundled_plugins_take_configuration() -> None:
    """The description check below really covers the bundled plugins (not an empty list)."""
    assert len(CONFIGURED) >= len(BUNDLED) - 2


@pytest.mark.parametrize("folder", CONFIGURED, ids=lambda p: p.name)
def test_every_config_field_of_a_bundled_plugin_has_a_description(folder: Path) -> None:
    """The JSON Schema of each bundled plugin's Config describes every field."""
    config = _config_of(folder)
    props = _properties(msgspec.json.schema(config))
    assert props, "a Config without fields"
    undocumented = [name for name, prop in props.items() if not prop.get("description")]
    assert undocumented == []


def test_plugins_info_shows_the_config_fields(tmp_path: Path) -> None:
    """`plugins info github` lists each field with its type, default and description."""
    proc = subprocess.run(
        [sys.executable, "-m", "wiseflow", "plugins", "info", "github"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "config:" in out
    for text in ("max_wait_s", "300.0", "rate limits", "resource", "issues", "required"):
        assert text in out, text


def test_plugins_info_json_has_the_config_schema(tmp_path: Path) -> None:
    """`plugins info NAME --json` carries "config_schema" with the field descriptions."""
    proc = subprocess.run(
        [sys.executable, "-m", "wiseflow", "plugins", "info", "trends", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    props = _properties(json.loads(proc.stdout)["config_schema"])
    assert props["period"]["enum"] == ["day", "month", "week", "year"]
    assert "length of one period" in props["period"]["description"]
