"""What a worker reports about its plugin: a forged config schema and forged problem rows.

The schema ``plugins info`` shows and the interface problems ``plugins check`` lists are
built in the worker, beside the plugin's code, which can replace the functions that build
them. The attacker (sandboxed) sends a schema whose properties are lists, one nested 300
deep, and, for ``plugins check``, problem rows of the wrong types. Before: ``plugins info``
and ``plugins check`` ended with ``error WF000: internal error`` (exit 4), the operator's
vetting tool broken by the folder it vets. Now the host checks the shape at the boundary:
WF406 naming what was malformed, the worker stopped, the commands finish (info: exit 0,
its config line says why it is unavailable; check: the WF406 problem, exit 1), no
traceback.

Positive controls: the forged values do reach the host's readers when the boundary check
is skipped (they raise there), and an honest plugin with a tuple field (msgspec writes
``"items": false``) is shown, which also used to crash ``plugins info``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from cli_kit import document, project, raw_controls, wf

from wiseflow._cli._plugins import config_fields
from wiseflow._sandbox._loaded import checked_loaded

E = "\x1b]0;PWNED\x07\x1b[2J\u202eevil"

FORGED_SCHEMA = """
import msgspec
from wiseflow import ProcessorPlugin
import wiseflow._contract._instance as _instance

E = "\\x1b]0;PWNED\\x07\\x1b[2J\\u202eevil"
SHAPE = open(__file__.replace("plugin.py", "shape.txt")).read().strip()
deep = {"type": "object"}
for _ in range(300):
    deep = {"type": "object", "properties": {"x": deep}}
SCHEMAS = {
    "lists": {"$defs": [E], "properties": {E: [E, 1]}, "required": 7},
    "deep": {"properties": {"deep": deep}},
    "wide": {"properties": {f"f{i}": {"type": "string"} for i in range(30_000)}},
}
_instance.config_schema = lambda cls: SCHEMAS[SHAPE]


class Config(msgspec.Struct):
    a: str = "x"


class P(ProcessorPlugin):
    Config = Config

    def process(self, batch):
        return batch
"""

FORGED_PROBLEMS = """
import msgspec
_orig = msgspec.to_builtins

def forged(obj, *args, **kwargs):
    if type(obj).__name__ == "Problem":
        return {"code": ["WF000"], "message": {"nested": True}, "line": "one"}
    return _orig(obj, *args, **kwargs)

msgspec.to_builtins = forged

from wiseflow import ProcessorPlugin


class P(ProcessorPlugin):
    pass  # no process(): an interface problem, which the worker reports as a row
"""

HONEST = """
import msgspec
from wiseflow import ProcessorPlugin


class Config(msgspec.Struct):
    pair: tuple[int, str] = (1, "x")


class P(ProcessorPlugin):
    Config = Config

    def process(self, batch):
        return batch
"""


def _project(tmp_path: Path, code: str) -> Path:
    return project(tmp_path, {"attacker": ("processor", code)}, "[pipeline]\nname = 't'\n")


@pytest.mark.parametrize("shape", ["lists", "deep", "wide"])
def test_a_forged_config_schema_is_wf406_and_info_still_answers(tmp_path: Path, shape: str) -> None:
    """`plugins info` exits 0 with the config unavailable (WF406), in text and in JSON."""
    root = _project(tmp_path, FORGED_SCHEMA)
    (root / "plugins" / "attacker" / "shape.txt").write_text(shape)
    res = wf("plugins", "info", "attacker", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.decode()
    assert "config: unavailable (WF406: the worker of plugin" in out
    assert "internal error" not in out + res.stderr.decode()
    assert b"Traceback" not in res.stdout + res.stderr
    assert raw_controls(res.stdout + res.stderr) == []
    doc = document(wf("--json", "plugins", "info", "attacker", cwd=root))
    assert doc["config_schema"] is None
    assert doc["config_schema_error"]["code"] == "WF406"


def test_forged_problem_rows_are_wf406_in_plugins_check(tmp_path: Path) -> None:
    """`plugins check` reports WF406 for the forged rows (exit 1), not an internal error."""
    root = _project(tmp_path, FORGED_PROBLEMS)
    res = wf("--json", "plugins", "check", "attacker", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = document(res)
    assert doc["ok"] is False
    codes = [p["code"] for p in doc["problems"]]
    assert codes == ["WF406"], doc
    assert "malformed interface problem" in doc["problems"][0]["message"]
    text = wf("plugins", "check", "attacker", cwd=root)
    assert text.returncode == 1 and b"Traceback" not in text.stdout + text.stderr
    assert b"internal error" not in text.stdout + text.stderr


def test_an_honest_tuple_field_is_shown(tmp_path: Path) -> None:
    """A plugin whose Config has a tuple field: its schema passes, info lists the field."""
    root = _project(tmp_path, HONEST)
    res = wf("plugins", "info", "attacker", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert b"pair" in res.stdout and b"list[any]" in res.stdout


def test_positive_control_the_forged_values_break_the_hosts_readers() -> None:
    """Without the boundary check the host's readers meet the forged values and raise."""
    lists: dict[str, Any] = {"properties": {E: [E, 1]}}
    with pytest.raises(AttributeError):
        config_fields(lists)
    with pytest.raises(ValueError, match="not a mapping of schemas"):
        checked_loaded(lists, None)
    row = {"code": ["WF000"], "message": {"nested": True}, "line": "one"}
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(row, type=__import__("wiseflow").Problem)
    with pytest.raises(ValueError, match="malformed interface problem"):
        checked_loaded(None, [row])
