"""SPEC §6/§13 from outside: `wiseflow plugins audit PATH` takes what `plugins check PATH`
takes: a plugin folder, its plugin.toml, or an author's project folder (pyproject.toml,
package under src/).

Found from outside: `plugins audit PROJECT` said "no plugin.toml at PROJECT/plugin.toml"
(while `plugins check PROJECT` passed), and `plugins audit plugins/typo` said "no plugin
named 'plugins/typo' was found" instead of naming the missing plugin.toml (fixed in
_cli/_plugins.py `audit`, which now locates the manifest as `plugins check` does).
"""

from __future__ import annotations

import json
from pathlib import Path

from outside import wf


def test_c3_audit_takes_a_project_folder_and_names_a_missing_manifest(tmp_path: Path) -> None:
    assert wf("plugins", "new", "proj", "--kind", "processor", cwd=tmp_path).returncode == 0
    check = wf("plugins", "check", "proj", "--json", cwd=tmp_path)
    assert check.returncode == 0, check.stdout  # the control: check takes the project
    audit = wf("plugins", "audit", "proj", "--json", cwd=tmp_path)
    assert audit.returncode == 0, audit.stdout
    assert json.loads(audit.stdout)["plugin"] == "proj"
    typo = wf("plugins", "audit", "plugins/typo", "--json", cwd=tmp_path)
    assert typo.returncode == 2 and json.loads(typo.stdout)["error"]["code"] == "WF101", typo
