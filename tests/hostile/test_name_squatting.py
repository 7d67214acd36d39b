"""Name squatting: a deliberately broken plugin.toml that claims a bundled plugin's name.

Before identity, the squatter's WF101 was blamed on the name it claims, and the valid
bundled plugin went out of service (exit 2) even when pinned by origin. Now the broken
manifest is reported under its own folder (an ERROR row of its own) and the valid plugin
keeps working, in pipelines and in `plugins check/audit NAME`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from identity_kit import Project

from wiseflow._host._manager import PluginManager
from wiseflow._policy._operator import load_operator_config

BROKEN = {
    "bad-version": 'version = "not a version"\nkind = "processor"\nentry = "plugin:X"\n',
    "unknown-field": 'version = "9.0.0"\nkind = "processor"\nentry = "plugin:X"\nsneaky = 1\n',
    "no-entry": 'version = "99.0.0"\nkind = "processor"\n',
    "bad-kind": 'version = "99.0.0"\nkind = "backdoor"\nentry = "plugin:X"\n',
}
PIPELINE = """\
[pipeline]
name = "squat"

[[sources]]
plugin = "hello"

[[processors]]
plugin = "{name}"
"""
EXPECTED = {
    "upper": ["HELLO #0", "HELLO #1", "HELLO #2"],
    "text": ["hello #0", "hello #1", "hello #2"],
}


def squat(project: Project, name: str, broken: str) -> Path:
    folder = project.plugins / "squat"
    folder.mkdir()
    (folder / "plugin.toml").write_text(f'[plugin]\nname = "{name}"\n{BROKEN[broken]}')
    (folder / "plugin.py").write_text("raise SystemExit('squatter imported')\n")
    return folder


@pytest.mark.parametrize("pinned", [False, True], ids=["unpinned", "pinned"])
@pytest.mark.parametrize("broken", sorted(BROKEN))
@pytest.mark.parametrize("name", ["upper", "text"])
def test_broken_squatter_never_takes_the_valid_plugin_out_of_service(
    tmp_path: Path, name: str, broken: str, pinned: bool
) -> None:
    """A broken folder claiming `upper`/`text` leaves the bundled one working, pinned or not."""
    project = Project(tmp_path, f'[plugins.{name}]\norigin = "entry-point"\n' if pinned else "")
    folder = squat(project, name, broken)
    project.pipeline(PIPELINE.format(name=name))
    # positive control: discovery does carry the squatter's WF101, under the claimed name
    pm = PluginManager(load_operator_config(tmp_path / "wiseflow.toml"), cache=False)
    claimed = [p for p in pm.discover().problems if p.plugin == name]
    assert claimed and {p.code for p in claimed} == {"WF101"}
    assert all(p.file == str(folder / "plugin.toml") for p in claimed)

    res, doc = project.run()

    assert res.returncode == 0, doc
    assert doc["status"] == "ok" and doc["errors"] == []
    assert [title for title, _ in project.records("hello")] == EXPECTED[name]
    rows = [r for r in project.rows() if r["name"] == name]
    (valid,) = [r for r in rows if r["origin"] == "entry-point"]
    assert valid["problems"] == [] and valid["state"] == "UNLOADED"
    (error,) = [r for r in rows if r["state"] == "ERROR"]
    assert error["location"] == str(folder)
    assert error["problems"] and {p["code"] for p in error["problems"]} == {"WF101"}


@pytest.mark.parametrize("name", ["upper", "text"])
def test_check_and_audit_by_name_look_at_the_valid_plugin(tmp_path: Path, name: str) -> None:
    """`plugins check NAME` and `plugins audit NAME` are not failed by a squatter's manifest."""
    project = Project(tmp_path)
    squat(project, name, "bad-version")

    check = project.wf("plugins", "check", name, "--json")
    audit = project.wf("plugins", "audit", name, "--json")
    info = project.wf("plugins", "info", name, "--json")

    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["problems"] == []
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert all("squat" not in (p["file"] or "") for p in json.loads(audit.stdout)["problems"])
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["identity"]["origin"] == "entry-point:wiseflow"
