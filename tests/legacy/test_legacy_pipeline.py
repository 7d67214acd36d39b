"""Original-API plugins, migrated with the CLI, run sandboxed like any other (SPEC §16)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from legacy_kit import MARKER, write_plugins

from wf_cli import wf

SANDBOXED = '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "sandboxed"\n'

PIPELINE = """\
[pipeline]
name = "legacy-news"
batch_size = 2

[[sources]]
plugin = "headlines-connector"
name = "headlines"
config = { topic = "rust", count = 3, query = "weekly" }

[[processors]]
plugin = "text-cleaner"

[[analyzers]]
plugin = "title-stats"

[[analyzers]]
plugin = "wordcount"
"""

NOT_READY = """\
[pipeline]
name = "not-ready"

[[sources]]
plugin = "not-ready"
name = "late"

[[analyzers]]
plugin = "wordcount"
"""


def _migrated(tmp_path: Path) -> dict[str, dict[str, object]]:
    write_plugins(tmp_path)
    (tmp_path / "wiseflow.toml").write_text(SANDBOXED)
    res = wf("plugins", "migrate", "plugins", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    return {p["name"]: p for p in json.loads(res.stdout)["plugins"]}


def test_migrated_legacy_plugins_run_in_one_sandboxed_pipeline(tmp_path: Path) -> None:
    """A legacy connector (self.config, PluginMetadata dependencies), processor (import side
    effect) and analyzer, migrated with the CLI, pass check and audit and run sandboxed with
    the bundled wordcount; records are stored as LEGACY-API.md maps them, and no legacy
    code ever ran in the host (its import marker appears only in a worker's data dir)."""
    plugins = _migrated(tmp_path)
    assert {n: p["kind"] for n, p in plugins.items()} == {
        "headlines-connector": "connector",
        "text-cleaner": "processor",
        "title-stats": "analyzer",
        "not-ready": "connector",
    }
    assert plugins["headlines-connector"]["requires"] == {"text-cleaner": ">=1.0.0"}
    for folder in ("headlines", "cleaner", "stats", "notready"):
        audited = wf("plugins", "audit", f"plugins/{folder}", "--json", cwd=tmp_path)
        assert audited.returncode == 0 and json.loads(audited.stdout)["ok"], audited.stdout
    assert not list(tmp_path.rglob(MARKER)), "migrate or audit imported legacy code"
    for folder in ("headlines", "cleaner", "stats", "notready"):
        checked = wf("plugins", "check", f"plugins/{folder}", cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    # check imports the entry in a strict worker (its data dir is its current folder)
    assert [p.parent.name for p in tmp_path.rglob(MARKER)] == ["check-text-cleaner"]

    (tmp_path / "p.toml").write_text(PIPELINE)
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["status"] == "ok" and doc["errors"] == []
    assert doc["records"]["fetched"] == 4 and doc["records"]["stored"] == 3  # one dropped
    assert {doc["plugins"][n]["state"] for n in ("headlines", "text-cleaner")} == {"ACTIVE"}
    assert doc["analyzers"]["title-stats"] == {
        "count": 3,
        "sections": ["world"],
        "all_cleaned": True,
        "ids": ["0", "1", "2"],
    }
    assert doc["analyzers"]["wordcount"]["records"] == 3

    db = sqlite3.connect(tmp_path / ".wiseflow" / "wiseflow.db")
    rows = db.execute(
        "select source, id, title, text, url, author, time, data from records order by id"
    ).fetchall()
    assert [r[:6] for r in rows] == [
        ("headlines", str(i), f"rust weekly {i}", f"NEWS ABOUT RUST NUMBER {i}",
         f"https://example.org/{i}", "desk")
        for i in range(3)
    ]  # fmt: skip
    assert rows[0][6].startswith("2024-01-01T10:00:00")
    assert json.loads(rows[0][7]) == {"section": "world", "cleaned": True}
    assert not (tmp_path / MARKER).exists()  # the host's folder: never imported here
    imported = list((tmp_path / ".wiseflow").rglob(MARKER))
    assert {p.parent.name for p in imported} >= {"check-text-cleaner", "text-cleaner"}


def test_a_legacy_initialize_returning_false_fails_its_stage_with_a_hint(
    tmp_path: Path,
) -> None:
    """initialize() returning False is a failed initialize (WF400, naming the plugin and
    saying so, with a hint), not a crash: the run stops cleanly with exit 1."""
    _migrated(tmp_path)
    (tmp_path / "p.toml").write_text(NOT_READY)
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)  # the stage could not start: a failed run (SPEC §12)
    assert doc["status"] == "failed", doc
    (error,) = doc["errors"]
    assert error["code"] == "WF400" and error["plugin"] == "late"
    assert "initialize() returned False" in error["message"]
    assert "late" in error["hint"]
    text = wf("run", "p.toml", cwd=tmp_path)
    assert text.returncode == 1
    assert "WF400" in text.stderr and "initialize() returned False" in text.stderr
    assert "hint" in text.stderr and "Traceback" not in text.stderr
