"""A denied permission (SPEC §2: WF301 naming the permission and the plugin) says what to do,
and what it says works: the grant command names the plugin (not the pipeline's instance
name), and a level that never grants the permission is named instead of a useless grant."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from outside import plugin, wf

ASKER_TOML = """\
    [plugin]
    name = "asker"
    version = "1.0"
    kind = "connector"
    entry = "plugin:Asker"

    [plugin.permissions]
    env = ["ASKER_TOKEN"]
"""

ASKER = """\
    from wiseflow import ConnectorPlugin, Record


    class Asker(ConnectorPlugin):
        def fetch(self, state):
            token = self.ctx.secret("ASKER_TOKEN")
            yield Record(id="1", source=self.ctx.name, title=str(len(token or "")))
"""


def _project(root: Path, toml: str) -> None:
    plugin(root / "plugins", "asker", ASKER_TOML, ASKER)
    (root / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n' + toml)
    (root / "p.toml").write_text(
        '[pipeline]\nname = "p"\n\n[[sources]]\nplugin = "asker"\nname = "fetcher"\n'
    )


def _denied(root: Path) -> dict[str, str]:
    done = wf("run", "p.toml", "--json", cwd=root, env={"ASKER_TOKEN": "s3cr3t-value"})
    assert done.returncode == 1, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    (error,) = doc["errors"]
    assert error["code"] == "WF301", error
    assert "ASKER_TOKEN" in error["message"], error
    return dict(error)


def test_the_grant_hint_names_the_plugin_and_works(tmp_path: Path) -> None:
    _project(tmp_path, "")
    error = _denied(tmp_path)
    assert "plugin 'asker' (instance 'fetcher')" in error["message"], error  # SPEC §2
    assert "plugins grant asker" in error["hint"], error  # the instance is "fetcher"
    assert "plugins grant fetcher" not in error["hint"], error
    command = error["hint"].split("`")[1]
    argv = shlex.split(command)
    assert argv[:3] == ["wiseflow", "plugins", "grant"], command
    grant = wf(*argv[1:], cwd=tmp_path)
    assert grant.returncode == 0, (command, grant.stdout, grant.stderr)
    done = wf("run", "p.toml", "--json", cwd=tmp_path, env={"ASKER_TOKEN": "s3cr3t-value"})
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert json.loads(done.stdout)["records"]["stored"] == 1


def test_strict_denial_names_the_level_not_a_grant(tmp_path: Path) -> None:
    _project(tmp_path, '[plugins.asker]\nlevel = "strict"\ngrant.env = ["ASKER_TOKEN"]\n')
    error = _denied(tmp_path)
    assert "strict" in error["hint"], error  # granting again changes nothing at strict
    assert "sandboxed" in error["hint"], error


def test_granting_what_the_manifest_does_not_declare_says_it_gives_nothing(tmp_path: Path) -> None:
    _project(tmp_path, "")
    idle = wf("plugins", "grant", "asker", "--env", "OTHER_TOKEN", "--json", cwd=tmp_path)
    assert idle.returncode == 0, idle.stderr
    assert json.loads(idle.stdout)["not_declared"] == ["env:OTHER_TOKEN"]
    assert "does not declare env:OTHER_TOKEN" in idle.stderr, idle.stderr
    # control: what it declares is granted without a word
    used = wf("plugins", "grant", "asker", "--env", "ASKER_TOKEN", "--json", cwd=tmp_path)
    assert used.returncode == 0, used.stderr
    assert "not_declared" not in json.loads(used.stdout), used.stdout
    assert "warning" not in used.stderr, used.stderr


def test_revoke_of_a_mistyped_name_says_so_and_a_gone_plugin_can_be_revoked(
    tmp_path: Path,
) -> None:
    _project(tmp_path, "")
    typo = wf("plugins", "revoke", "aksre", "--json", cwd=tmp_path)
    assert typo.returncode == 2, (typo.stdout, typo.stderr)
    error = json.loads(typo.stdout)["error"]
    assert error["code"] == "WF602" and "asker" in error["message"], error  # did you mean
    assert wf("plugins", "grant", "asker", "--all", cwd=tmp_path).returncode == 0
    import shutil

    shutil.rmtree(tmp_path / "plugins" / "asker")  # gone, but still in wiseflow.lock
    gone = wf("plugins", "revoke", "asker", "--json", cwd=tmp_path)
    assert gone.returncode == 0, (gone.stdout, gone.stderr)
    assert json.loads(gone.stdout)["revoked"] is True
