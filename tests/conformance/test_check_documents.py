"""`wiseflow plugins check PATH --json` (SPEC §6): every problem says what to do (a hint)
and names the plugin as its manifest does, never a name the host made up for the check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside import COUNTER, plugin, wf

HEAD = '[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "connector"\nentry = "plugin:Counter"\n'

BROKEN = {
    "kind": HEAD.replace('"connector"', '"sink"'),
    "name": HEAD.replace('"{name}"', '"Bad_Name"'),
    "entry": HEAD.replace('entry = "plugin:Counter"\n', ""),
    "entry-shape": HEAD.replace('"plugin:Counter"', '"plugin.Counter"'),
    "permission": HEAD + "[plugin.permissions]\nteleport = true\n",
    "permission-type": HEAD + '[plugin.permissions]\nnetwork = "example.org:443"\n',
    "table": HEAD + "[extra]\nx = 1\n",
    "toml": HEAD + 'description = "unterminated\n',
    "no-plugin-table": '[plugn]\nname = "x"\n',
    "requires": HEAD + '[plugin.requires]\nother = { version = ">=1", colour = "red" }\n',
    "fallback": HEAD + 'fallback = "Not A Name"\n',
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_every_manifest_problem_has_a_hint(tmp_path: Path, case: str) -> None:
    name = f"m-{case}"
    plugin(tmp_path, name, BROKEN[case].replace("{name}", name))
    done = wf("plugins", "check", name, "--json", cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["ok"] is False and doc["problems"], doc
    for problem in doc["problems"]:
        assert problem["code"] == "WF101", problem
        assert isinstance(problem["hint"], str) and problem["hint"].strip(), problem
        assert problem["file"], problem


def test_entry_not_found_names_the_plugin(tmp_path: Path) -> None:
    plugin(tmp_path, "lost", HEAD.replace("{name}", "lost").replace(":Counter", ":Nowhere"))
    done = wf("plugins", "check", "lost", "--json", cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["plugin"] == "lost", doc
    (problem,) = doc["problems"]
    assert problem["code"] == "WF102", problem
    assert problem["plugin"] == "lost", problem  # not the host's "check-lost"
    text = wf("plugins", "check", "lost", cwd=tmp_path)
    assert text.returncode == 2 and "check-lost" not in text.stdout + text.stderr, text


def test_a_plugin_with_a_broken_manifest_is_found_and_its_problem_named(tmp_path: Path) -> None:
    """`plugins list` shows it (status error, WF101): `info`, `check` and `grant` by its name
    name that problem too, not "no plugin named ... was found" (WF602)."""
    broken = HEAD.replace("{name}", "broken").replace('"connector"', '"sink"')
    plugin(tmp_path / "plugins", "broken", broken)
    (tmp_path / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n')
    rows = json.loads(wf("plugins", "list", "--json", cwd=tmp_path).stdout)["plugins"]
    (row,) = [r for r in rows if r["name"] == "broken"]
    assert [p["code"] for p in row["problems"]] == ["WF101"], row
    for argv in (("plugins", "info", "broken"), ("plugins", "grant", "broken", "--all")):
        done = wf(*argv, "--json", cwd=tmp_path)
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        error = json.loads(done.stdout)["error"]
        assert error["code"] == "WF101" and "sink" in error["message"], (argv, error)
    check = json.loads(wf("plugins", "check", "broken", "--json", cwd=tmp_path).stdout)
    assert [p["code"] for p in check["problems"]] == ["WF101"], check
    disable = wf("plugins", "disable", "broken", "--json", cwd=tmp_path)
    assert disable.returncode == 0, disable.stdout
    missing = wf("plugins", "info", "nothing-here", "--json", cwd=tmp_path)  # control
    assert json.loads(missing.stdout)["error"]["code"] == "WF602", missing.stdout


def test_two_copies_of_a_plugin_hint_at_a_choice_that_works(tmp_path: Path) -> None:
    """WF104 (same name and version from two folders): the hint's wiseflow.toml line runs it."""
    manifest = HEAD.replace("{name}", "twice")
    plugin(tmp_path / "a", "twice", manifest)
    plugin(tmp_path / "b", "twice", manifest, "# another copy\n" + COUNTER)
    (tmp_path / "p.toml").write_text('[pipeline]\nname = "p"\n[[sources]]\nplugin = "twice"\n')
    argv = ("run", "p.toml", "--plugin-dir", "a", "--plugin-dir", "b", "--json")
    done = wf(*argv, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "WF104", error
    line = error["hint"].split("wiseflow.toml: ", 1)[1]
    assert line.startswith("[plugins.twice] origin = "), error
    table, setting = line.split("] ", 1)
    (tmp_path / "wiseflow.toml").write_text(f'{table}]\n{setting}\n[policy]\nlevel = "trusted"\n')
    again = wf(*argv, cwd=tmp_path)
    assert again.returncode == 0, (again.stdout, again.stderr)
