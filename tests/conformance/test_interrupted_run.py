"""An interrupted run (SPEC §6, §12: status "interrupted", exit 130) still answers: `--json`
is one document on stdout (the run's, status interrupted), the text summary says so."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from outside import plugin

FOREVER = """\
    import time

    from wiseflow import Checkpoint, ConnectorPlugin, Record


    class Counter(ConnectorPlugin):
        def fetch(self, state):
            i = 0
            while True:
                yield Record(id=str(i), source=self.ctx.name)
                yield Checkpoint(state={"i": i})
                i += 1
                time.sleep(0.01)
"""


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("select count(*) from records").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("json_flag", [True, False])
def test_sigterm_mid_run_prints_the_interrupted_run(tmp_path: Path, json_flag: bool) -> None:
    plugin(
        tmp_path / "plugins",
        "counter",
        '[plugin]\nname = "counter"\nversion = "1.0"\nkind = "connector"\n'
        'entry = "plugin:Counter"\n',
        FOREVER,
    )
    (tmp_path / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "trusted"\n'
    )
    (tmp_path / "p.toml").write_text(
        '[pipeline]\nname = "forever"\nbatch_size = 2\n\n[[sources]]\nplugin = "counter"\n'
    )
    argv = [sys.executable, "-m", "wiseflow", "run", "p.toml", *(["--json"] if json_flag else [])]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    db = tmp_path / ".wiseflow" / "wiseflow.db"
    deadline = time.monotonic() + 60
    while _stored(db) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for a state, with a deadline: not a synchronisation
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    if json_flag:
        doc = json.loads(out)  # one document, nothing else
        assert doc["status"] == "interrupted", doc
        assert doc["pipeline"] == "forever", doc
        assert doc["records"]["stored"] >= 4, doc
        with sqlite3.connect(db) as conn:
            stored = conn.execute("select run_id, status from runs").fetchall()
        assert stored == [(doc["run_id"], "interrupted")], stored
    else:
        assert "forever interrupted" in out, (out, err)
