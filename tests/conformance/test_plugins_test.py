"""`wiseflow plugins test` (SPEC §13): each check reports on what it checked. A call that
ends the plugin's worker (timeout) fails its own check; shutdown() is then not blamed."""

from __future__ import annotations

import json
from pathlib import Path

from outside import plugin, wf

HANGS = """\
    import threading

    from wiseflow import ProcessorPlugin


    class Counter(ProcessorPlugin):
        def process(self, batch):
            threading.Event().wait()  # never returns: the host's timeout_s ends the call
"""


def test_a_timeout_fails_its_check_and_does_not_blame_shutdown(tmp_path: Path) -> None:
    plugin(
        tmp_path,
        "stuck",
        '[plugin]\nname = "stuck"\nversion = "1.0"\nkind = "processor"\n'
        'entry = "plugin:Counter"\n\n[plugin.resources]\ntimeout_s = 1\n',
        HANGS,
    )
    done = wf("plugins", "test", "stuck", "--json", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    checks = {c["name"]: c for c in doc["checks"]}
    assert doc["ok"] is False
    kept = checks["processor keeps ids"]
    assert not kept["ok"] and kept["message"].startswith("WF401"), kept
    shutdown = checks["shutdown idempotent"]
    assert shutdown["message"].startswith("not run:") and "WF401" in shutdown["message"], shutdown
    assert "shutdown() failed" not in shutdown["message"], shutdown
