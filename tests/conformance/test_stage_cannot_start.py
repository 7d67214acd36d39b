"""A stage that cannot start (SPEC §12: status "failed", "a stage could not run", exit 1)
is a run like any other: recorded, listed, its document printed with the plugin's error."""

from __future__ import annotations

import json
from pathlib import Path

from outside import COUNTER, plugin, wf

FAILS_TO_START = """\
    from wiseflow import ConnectorPlugin


    class Counter(ConnectorPlugin):
        def initialize(self, ctx):
            super().initialize(ctx)
            raise RuntimeError("cannot start: the source is not configured")

        def fetch(self, state):
            return iter(())
"""


def test_a_stage_that_cannot_start_is_a_failed_run(tmp_path: Path) -> None:
    manifest = (
        '[plugin]\nname = "{n}"\nversion = "1.0"\nkind = "connector"\nentry = "plugin:Counter"\n'
    )
    plugin(tmp_path / "plugins", "broken", manifest.format(n="broken"), FAILS_TO_START)
    plugin(tmp_path / "plugins", "counter", manifest.format(n="counter"), COUNTER)
    (tmp_path / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "trusted"\n'
    )
    (tmp_path / "p.toml").write_text(
        '[pipeline]\nname = "p"\n[[sources]]\nplugin = "broken"\n[[sources]]\nplugin = "counter"\n'
    )
    done = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    assert doc.get("status") == "failed", doc
    (error,) = doc["errors"]
    assert (error["code"], error["plugin"]) == ("WF400", "broken"), error
    assert "not configured" in error["message"] and "initialize" in error["traceback"], error
    runs = json.loads(wf("runs", "list", "--json", cwd=tmp_path).stdout)["runs"]
    assert [(r["run_id"], r["status"]) for r in runs] == [(doc["run_id"], "failed")], runs
