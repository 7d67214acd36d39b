"""`wiseflow plugins migrate`: plugin.toml for original-API plugins, by reading, never running."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from legacy_kit import MARKER, write_plugins

from wf_cli import wf
from wiseflow._contract._errors import DiscoveryError
from wiseflow._contract._manifest import Permissions, load_manifest
from wiseflow._migrate import migrate

USES = """\
import os
import requests
from core.plugins import ConnectorPlugin


class Weather(ConnectorPlugin):
    name = "Weather_Feed"
    version = "not a version"
    description = "weather \\x1b[31mnow\\x1b[0m"

    def fetch_data(self, query, **kwargs):
        key = os.environ.get("WEATHER_KEY", "")
        with open("/etc/weather/stations.json") as f:
            stations = f.read()
        r = requests.get("https://api.weather.example:8443/v1", params={"k": key})
        return {"items": r.json()}
"""

TWO = """\
from core.plugins import ProcessorPlugin


class One(ProcessorPlugin):
    def process(self, data, **kwargs):
        return data


class Two(ProcessorPlugin):
    def process(self, data, **kwargs):
        return data
"""

BY_METHODS = """\
import core.plugins as cp


class Base(cp.BasePlugin):
    pass


class Upper(Base):
    def process(self, data, **kwargs):
        return data
"""


def test_migrate_writes_each_manifest_without_importing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each legacy folder gets a plugin.toml (normalised name, kind, entry, api, adapter,
    requires from PluginMetadata, no permissions it does not use); no module of them is
    imported into this process and their import side effect never happens."""
    monkeypatch.chdir(tmp_path)
    base = write_plugins(tmp_path)
    before = set(sys.modules)
    report = migrate(base)
    assert not [m for m in set(sys.modules) - before if "core" in m or "clean" in m]
    assert not any(str(base) in str(getattr(m, "__file__", "")) for m in list(sys.modules.values()))
    assert not (tmp_path / MARKER).exists()
    assert report.ok and {p["name"] for p in report.plugins} == {
        "headlines-connector", "text-cleaner", "title-stats", "not-ready",
    }  # fmt: skip
    m = load_manifest(base / "headlines")
    assert (m.name, m.kind, m.entry, m.api, m.adapter) == (
        "headlines-connector", "connector", "headlines_connector:HeadlinesConnector",
        ">=1,<2", "legacy",
    )  # fmt: skip
    assert [(r.name, r.version) for r in m.requires] == [("text-cleaner", ">=1.0.0")]
    assert m.permissions == Permissions()
    assert load_manifest(base / "stats").version == "2.0"
    [doc] = [p for p in report.plugins if p["name"] == "headlines-connector"]
    notes = "\n".join(doc["assumed"])
    assert "'headlines_connector' is written 'headlines-connector'" in notes
    assert "min_system_version = '0.9.0': reported, not enforced" in notes
    assert "config.query" in notes
    assert doc["grants"] == [] and doc["written"] is True


def test_migrate_declares_only_literal_uses_and_grants_nothing(tmp_path: Path) -> None:
    """What the audit saw the code use is reported; the literal host, variable and path
    are declared (not granted: no lock is written) and the grant command is printed."""
    folder = tmp_path / "weather"
    folder.mkdir()
    (folder / "weather.py").write_text(USES)
    res = wf("plugins", "migrate", "weather", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    [doc] = json.loads(res.stdout)["plugins"]
    assert doc["name"] == "weather-feed"
    assert doc["declared"] == {
        "network": ["api.weather.example:8443"],
        "env": ["WEATHER_KEY"],
        "fs_read": ["/etc/weather/stations.json"],
    }
    assert {u["rule"] for u in doc["uses"]} >= {"network", "environment", "file-access"}
    assert doc["grants"] == [
        "wiseflow plugins grant weather-feed --network api.weather.example:8443 "
        "--env WEATHER_KEY --fs-read /etc/weather/stations.json"
    ]
    assert any("version: 0.0.0" in a for a in doc["assumed"])
    assert any("network: the code connects by itself" in a for a in doc["assumed"])
    m = load_manifest(folder)
    assert m.permissions.network == ("api.weather.example:8443",)
    assert m.description == "weather \x1b[31mnow\x1b[0m"  # kept as data, TOML-escaped
    assert not (tmp_path / "wiseflow.lock").exists()
    text = wf("plugins", "migrate", "weather", "--dry-run", cwd=tmp_path)
    assert text.returncode == 0 and "\x1b" not in text.stdout + text.stderr
    assert "plugin.toml exists already: left as it is" in text.stdout


def test_dry_run_writes_nothing_and_a_single_file_gets_its_own_folder(tmp_path: Path) -> None:
    """--dry-run prints the manifest and writes nothing; a lone .py file is copied into a
    folder of its own beside it, which gets the plugin.toml."""
    (tmp_path / "upper.py").write_text(BY_METHODS)
    dry = wf("plugins", "migrate", "upper.py", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert 'kind = "processor"' in dry.stdout and "would be written (dry run)" in dry.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upper.py"]
    res = wf("plugins", "migrate", "upper.py", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    [doc] = json.loads(res.stdout)["plugins"]
    assert doc["kind"] == "processor" and doc["entry"] == "upper:Upper"
    assert any("from its methods" in a for a in doc["assumed"])
    m = load_manifest(tmp_path / "upper")
    assert (m.name, m.kind) == ("upper", "processor")
    assert (tmp_path / "upper" / "upper.py").read_text() == BY_METHODS


def test_what_cannot_be_migrated_is_an_error_with_a_hint(tmp_path: Path) -> None:
    """A missing path, a folder with no legacy plugin, and a folder holding two plugin
    classes are errors (exit 2, code, hint); nothing is written for them."""
    missing = wf("plugins", "migrate", "nope", "--json", cwd=tmp_path)
    assert missing.returncode == 2
    assert json.loads(missing.stdout)["error"]["code"] == "WF100"
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.py").write_text("print('not a plugin')\n")
    empty = wf("plugins", "migrate", "empty", cwd=tmp_path)
    assert empty.returncode == 2 and "error WF100" in empty.stderr and "hint" in empty.stderr
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "two.py").write_text(TWO)
    two = wf("plugins", "migrate", "two", "--json", cwd=tmp_path)
    assert two.returncode == 2
    [doc] = json.loads(two.stdout)["plugins"]
    assert doc["problems"][0]["code"] == "WF103" and "One" in doc["problems"][0]["message"]
    assert not (tmp_path / "two" / "plugin.toml").exists()
    with pytest.raises(DiscoveryError):
        migrate(tmp_path / "empty")
