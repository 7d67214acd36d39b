"""`wiseflow dead-letters replay PIPELINE --run N` for a run that is not in the store.

Found from outside: it exited 0 having replayed nothing (and recorded an empty replay run),
so a mistyped run id looked like success. SPEC §12 gives no code for it; `runs show N` of an
unknown run is WF602 (not found, exit 2), and the replay now says the same, before anything
starts or is recorded. The same for ``--plugin NAME`` naming no stage of the pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

from outside import failure, plugin, project, text_failure, wf

COUNTER_TOML = """\
    [plugin]
    name = "counter"
    version = "1.0"
    kind = "connector"
    entry = "plugin:Counter"
"""


def test_c3_replay_of_an_unknown_run_is_not_found(tmp_path: Path) -> None:
    plugin(tmp_path / "plugins", "counter", COUNTER_TOML)
    project(tmp_path, '[policy]\nlevel = "trusted"\n')
    assert wf("run", "p.toml", cwd=tmp_path).returncode == 0  # run 1 exists
    error = failure(wf("dead-letters", "replay", "p.toml", "--run", "99", "--json", cwd=tmp_path),
                    "WF602", 2)  # fmt: skip
    assert "99" in error["message"], error
    text_failure(wf("dead-letters", "replay", "p.toml", "--run", "99", cwd=tmp_path), "WF602", 2)
    error = failure(wf("dead-letters", "replay", "p.toml", "--plugin", "countr", "--json",
                       cwd=tmp_path), "WF602", 2)  # fmt: skip
    assert "countr" in error["message"] and "counter" in error["message"], error
    runs = json.loads(wf("runs", "list", "--json", cwd=tmp_path).stdout)["runs"]
    assert [r["run_id"] for r in runs] == [1], runs  # no empty replay run recorded
    known = wf("dead-letters", "replay", "p.toml", "--run", "1", "--plugin", "counter", "--json",
               cwd=tmp_path)  # fmt: skip
    assert known.returncode == 0 and json.loads(known.stdout)["replay"] is True, known  # control
