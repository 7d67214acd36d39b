"""SPEC §10 from outside: what `plugins grant` writes to wiseflow.lock, and what runs after.

Hostile: bytecode planted in the plugin's ``__pycache__`` (valid for the source's stamp,
so plain Python loads it instead of the source) never runs in wiseflow's host, at level
trusted; the positive control is plain Python's import of the same folder.
"""

from __future__ import annotations

import importlib.util
import json
import marshal
import sqlite3
import struct
import sys
import tomllib
from pathlib import Path

from outside import failure, plugin, wf

CODE = """\
    from wiseflow import ConnectorPlugin, Record

    WHO = "source"


    class P(ConnectorPlugin):
        def fetch(self, state):
            yield Record(id="1", source=self.ctx.name, title=WHO)
"""
TOML = """\
    [plugin]
    name = "pc"
    version = "1.0"
    kind = "connector"
    entry = "plugin:P"

    [plugin.permissions]
    env = ["TOKEN", "OTHER"]
"""


def plant_bytecode(source: Path) -> None:
    """A ``__pycache__`` entry stamped like ``source`` whose code says WHO = "EVIL"."""
    evil = source.read_text().replace('WHO = "source"', 'WHO = "EVIL"')
    stat = source.stat()
    header = struct.pack("<III", 0, int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)
    code = marshal.dumps(compile(evil, str(source), "exec"))
    cache = Path(importlib.util.cache_from_source(str(source)))
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(importlib.util.MAGIC_NUMBER + header + code)


def test_c3_lock_pins_files_and_planted_bytecode_never_runs(tmp_path: Path) -> None:
    folder = plugin(tmp_path / "plugins", "pc", TOML, CODE)
    (tmp_path / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n\n[plugins.pc]\nlevel = "trusted"\n'
    )
    (tmp_path / "p.toml").write_text('[pipeline]\nname = "p"\n\n[[sources]]\nplugin = "pc"\n')
    assert wf("plugins", "grant", "pc", "--all", cwd=tmp_path).returncode == 0
    entry = tomllib.loads((tmp_path / "wiseflow.lock").read_text())["plugins"]["pc"]
    assert entry["env"] == ["OTHER", "TOKEN"] or entry["env"] == ["TOKEN", "OTHER"], entry
    assert "all" not in json.dumps(entry), entry  # what --all expanded to, never the word
    assert set(entry["files"]) == {"plugin.py", "plugin.toml"} and entry["level"] == "trusted"

    plant_bytecode(folder / "plugin.py")
    spec = importlib.util.spec_from_file_location("c3_planted", folder / "plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the control: plain Python runs the planted code
    assert module.WHO == "EVIL"
    sys.modules.pop("c3_planted", None)
    done = wf("run", "p.toml", "--json", cwd=tmp_path, env={"TOKEN": "t", "OTHER": "o"})
    assert done.returncode == 0, (done.stdout, done.stderr)
    show = wf("runs", "show", "1", "--json", cwd=tmp_path)
    assert "EVIL" not in done.stdout + show.stdout
    with sqlite3.connect(tmp_path / ".wiseflow" / "wiseflow.db") as db:
        assert db.execute("SELECT title FROM records").fetchall() == [("source",)]

    (folder / "helper.py").write_text("X = 1\n")  # added after approval: nothing runs
    error = failure(wf("run", "p.toml", "--json", cwd=tmp_path), "WF303", 3)
    assert "helper.py" in error["message"], error
