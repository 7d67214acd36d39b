"""SPEC §2: ``Checkpoint(state={...})`` holds a JSON dict; a bad one is the plugin's failure.

Found from outside: ``Checkpoint`` took any state. At level trusted a state the store
cannot encode (``{"a": object()}``) stopped the whole run as an internal error (WF000,
exit 4); at level sandboxed a string state killed the worker as a protocol violation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside import plugin, project, wf

from wiseflow import Checkpoint

MANIFEST = """\
    [plugin]
    name = "counter"
    version = "1.0.0"
    kind = "connector"
    entry = "plugin:Counter"
    api = ">=1,<2"
"""

BAD_STATE = """\
    from wiseflow import Checkpoint, ConnectorPlugin, Record


    class Counter(ConnectorPlugin):
        def initialize(self, ctx):
            self.name = ctx.name

        def fetch(self, state):
            yield Record(id="1", source=self.name)
            yield Checkpoint(state={"when": object()})
"""

CHANGED_STATE = BAD_STATE.replace(
    'yield Checkpoint(state={"when": object()})',
    "mark = Checkpoint(state={})\n"
    '            mark.state["when"] = object()\n'
    "            yield mark",
)


@pytest.mark.parametrize("state", ["x", ["a"], None, {"a": object()}])
def test_c2_checkpoint_refuses_a_state_that_is_not_a_json_dict(state: object) -> None:
    with pytest.raises((TypeError, ValueError), match=r"^Checkpoint\.state"):
        Checkpoint(state=state)  # type: ignore[arg-type]
    assert Checkpoint(state={"n": [1, {"a": None}]}).state == {"n": [1, {"a": None}]}


@pytest.mark.parametrize(
    ("level", "code"),
    [("trusted", BAD_STATE), ("sandboxed", BAD_STATE), ("trusted", CHANGED_STATE)],
    ids=["trusted", "sandboxed", "trusted-changed-in-place"],
)
def test_c2_bad_checkpoint_state_is_a_plugin_failure(tmp_path: Path, level: str, code: str) -> None:
    plugin(tmp_path / "plugins", "counter", MANIFEST, code)
    project(tmp_path, f'[policy]\nlevel = "{level}"\n')
    done = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["status"] == "failed", doc
    (error,) = doc["errors"]
    assert error["plugin"] == "counter" and error["code"] == "WF400", error
    assert "Checkpoint.state" in error["message"], error
