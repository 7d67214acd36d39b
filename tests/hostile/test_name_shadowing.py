"""Name shadowing: a plugin folder that claims the name of a bundled plugin.

The attacker drops a folder declaring ``name = "hello"`` into a plugin folder. The operator
configured ``hello`` (a secret granted through ``grant.env``, or ``level = "trusted"``):
under the old rule (plain resolution over every candidate, the highest version wins) the
folder's code would inherit both. Now the name belongs to one origin; every other claimant
is refused (WF104, naming both origins) before any of its code is imported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from identity_kit import Project, sha

from wiseflow._host._manager import PluginManager
from wiseflow._policy._operator import load_operator_config
from wiseflow._resolve import resolve

TOKEN = "hello-token-4711"
ENV = {"HELLO_TOKEN": TOKEN}

EVIL = """\
import hashlib, os

class P(ConnectorPlugin):
    def fetch(self, state):
        try:
            token = self.ctx.secret("HELLO_TOKEN") or ""
        except Exception:
            token = ""
        seen = token or os.environ.get("HELLO_TOKEN", "")
        yield Record(id="evil", source=self.ctx.name, title="evil",
                     text=hashlib.sha256(seen.encode()).hexdigest())
"""
EVIL_PERMISSIONS = '[plugin.permissions]\nenv = ["HELLO_TOKEN"]\n'
PIPELINE = """\
[pipeline]
name = "greetings"

[[sources]]
plugin = "hello"
"""
BUNDLED_TITLES = [("hello #0", "hello world, number 0"),
                  ("hello #1", "hello world, number 1"),
                  ("hello #2", "hello world, number 2")]  # fmt: skip

CONFIGS = {
    "granted-a-secret": '[plugins.hello]\ngrant.env = ["HELLO_TOKEN"]\n',
    "trusted": '[plugins.hello]\nlevel = "trusted"\ngrant.env = ["HELLO_TOKEN"]\n',
}


def shadow(project: Project, version: str = "99.0.0", folder: str = "hello") -> Path:
    """The attacking folder: connector ``hello`` that reports the token it can reach."""
    return project.plugin(
        folder,
        name="hello",
        version=version,
        code=EVIL,
        manifest_extra=EVIL_PERMISSIONS,
        marker="evil-imported",
    )


def old_rule_choice(project: Project) -> str:
    """Where plain resolution over every candidate (the rule before identity) looks."""
    pm = PluginManager(load_operator_config(project.root / "wiseflow.toml"), cache=False)
    return resolve(list(pm.discover().candidates), want=["hello"]).selected["hello"].location


def assert_bundled_ran(project: Project, res: object, doc: dict[str, Any]) -> None:
    assert getattr(res, "returncode", None) == 0, doc
    assert doc["status"] == "ok"
    assert project.records("hello") == BUNDLED_TITLES


def assert_never_imported(project: Project) -> None:
    assert Project.marks(project.host_marker("evil-imported")) == []
    assert Project.marks(project.data_marker("hello", "evil-imported")) == []


def refused_row(
    project: Project, folder: Path, owner: str = "entry-point:wiseflow"
) -> dict[str, Any]:
    rows = [r for r in project.rows() if r["name"] == "hello"]
    by_origin = {r["identity"]["origin"]: r for r in rows}
    assert by_origin[owner]["state"] == "UNLOADED"
    assert by_origin[owner]["problems"] == []
    row = by_origin[f"dir:{folder}"]
    assert row["state"] == "REFUSED"
    return row


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_higher_version_folder_never_inherits_a_configured_name(
    tmp_path: Path, config: str
) -> None:
    """A folder `hello` 99 gets neither the token nor the host: it is refused, bundled runs."""
    project = Project(tmp_path, CONFIGS[config])
    folder = shadow(project)
    project.pipeline(PIPELINE)
    assert old_rule_choice(project) == str(folder)  # positive control: the old rule picks it

    res, doc = project.run(env=ENV)

    assert_bundled_ran(project, res, doc)
    assert_never_imported(project)
    assert sha(TOKEN) not in res.stdout + res.stderr
    row = refused_row(project, folder)
    (problem,) = row["problems"]
    assert problem["code"] == "WF104"
    assert f"dir:{folder}" in problem["message"]
    assert "entry-point:wiseflow" in problem["message"]
    info = json.loads(project.wf("plugins", "info", "hello", "--json").stdout)
    assert info["identity"]["origin"] == "entry-point:wiseflow"
    assert [p["code"] for p in info["refused"]] == ["WF104"]
    assert str(folder) in info["refused"][0]["message"]
    assert_never_imported(project)  # listing and info read manifests only


@pytest.mark.parametrize("version", ["1.0.0", "0.1.0"])
def test_equal_or_lower_version_folder_is_refused_too(tmp_path: Path, version: str) -> None:
    """Whatever version the folder claims, a configured name runs the bundled plugin."""
    project = Project(tmp_path, CONFIGS["trusted"])
    folder = shadow(project, version=version)
    project.pipeline(PIPELINE)
    if version == "1.0.0":  # positive control: at equal versions the old rule preferred dirs
        assert old_rule_choice(project) == str(folder)

    res, doc = project.run(env=ENV)

    assert_bundled_ran(project, res, doc)
    assert_never_imported(project)
    (problem,) = refused_row(project, folder)["problems"]
    assert problem["code"] == "WF104" and f"dir:{folder}" in problem["message"]


def test_every_folder_claiming_the_name_is_refused(tmp_path: Path) -> None:
    """Two plugin folders each holding a `hello` do not outvote the configured one."""
    project = Project(tmp_path, CONFIGS["trusted"], plugin_dirs=("plugins", "more"))
    first = shadow(project, version="99.0.0")
    second = project.plugin(
        "hello", name="hello", version="100.0.0", code=EVIL, manifest_extra=EVIL_PERMISSIONS,
        marker="evil-imported", where=tmp_path / "more",
    )  # fmt: skip
    project.pipeline(PIPELINE)
    assert old_rule_choice(project) == str(second)  # positive control

    res, doc = project.run(env=ENV)

    assert_bundled_ran(project, res, doc)
    assert_never_imported(project)
    for folder in (first, second):
        (problem,) = refused_row(project, folder)["problems"]
        assert problem["code"] == "WF104" and f"dir:{folder}" in problem["message"]


def test_a_locked_name_refuses_a_folder_that_appears_later(tmp_path: Path) -> None:
    """After `plugins grant hello`, a new folder `hello` is refused though nothing is configured."""
    project = Project(tmp_path)
    project.pipeline(PIPELINE)
    folder = shadow(project)
    # positive control: for a name nobody configured or approved, the highest version wins
    res, doc = project.run(env=ENV)
    assert res.returncode == 0, doc
    assert [t for t, _ in project.records("hello")] == ["evil"]
    assert Project.marks(project.data_marker("hello", "evil-imported"))
    (folder / "plugin.toml").rename(folder / "plugin.toml.off")
    project.state.joinpath("plugins", "hello", "evil-imported").unlink()

    grant = project.wf("plugins", "grant", "hello", "--json")
    assert grant.returncode == 0, grant.stderr
    assert json.loads(grant.stdout)["identity"]["origin"] == "entry-point:wiseflow"
    (folder / "plugin.toml.off").rename(folder / "plugin.toml")

    res, doc = project.run(env=ENV)

    assert_bundled_ran(project, res, doc)
    assert_never_imported(project)
    (problem,) = refused_row(project, folder)["problems"]
    assert problem["code"] == "WF104"
    assert "approved in wiseflow.lock" in problem["message"]
    assert f"dir:{folder}" in problem["message"] and "entry-point:wiseflow" in problem["message"]


def test_pinning_the_folder_by_origin_admits_it(tmp_path: Path) -> None:
    """Positive control: pinned by origin, the folder plugin runs in the host with the token."""
    project = Project(tmp_path, CONFIGS["trusted"] + 'origin = "plugins/hello"\n')
    folder = shadow(project)
    project.pipeline(PIPELINE)

    res, doc = project.run(env=ENV)

    assert res.returncode == 0, doc
    assert project.records("hello") == [("evil", sha(TOKEN))]
    marks = Project.marks(project.host_marker("evil-imported"))
    assert marks and all("host=True" in line for line in marks)  # imported in the host
    rows = {r["identity"]["origin"]: r for r in project.rows() if r["name"] == "hello"}
    assert rows[f"dir:{folder}"]["state"] == "UNLOADED"
    assert rows["entry-point:wiseflow"]["state"] == "UNUSED"


def test_a_pin_by_kind_does_not_let_another_folder_past_the_lock(tmp_path: Path) -> None:
    """`origin = "dir"` plus an approved folder: a second, newer folder `hello` is refused."""
    config = CONFIGS["trusted"] + 'origin = "dir"\n'
    project = Project(tmp_path, config, plugin_dirs=("plugins", "more"))
    mine = project.plugin(
        "hello", name="hello", code=EVIL.replace('title="evil"', 'title="mine"'),
        manifest_extra=EVIL_PERMISSIONS,
    )  # fmt: skip
    assert project.wf("plugins", "grant", "hello").returncode == 0
    other = project.plugin(
        "hello", name="hello", version="99.0.0", code=EVIL, manifest_extra=EVIL_PERMISSIONS,
        marker="evil-imported", where=tmp_path / "more",
    )  # fmt: skip
    project.pipeline(PIPELINE)
    assert old_rule_choice(project) == str(other)  # positive control

    res, doc = project.run(env=ENV)

    assert res.returncode == 0, doc
    assert project.records("hello") == [("mine", sha(TOKEN))]
    assert_never_imported(project)
    (problem,) = refused_row(project, other, owner=f"dir:{mine}")["problems"]
    assert problem["code"] == "WF104" and "approved in wiseflow.lock" in problem["message"]
