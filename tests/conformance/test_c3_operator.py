"""SPEC §4 and §11 from outside: wiseflow.toml's keys, their effect, and bad values.

Found from outside: a bad value in a ``[plugins.NAME]`` table was reported as
``plugins[...].level: ...`` (which of the operator's plugins?); it now names the table. A
call that crossed the ``[policy] max_timeout_s`` ceiling said "raise resources.timeout_s for
this plugin", which cannot help when the ceiling binds (the tightest applies): the hint now
names the three settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from outside import failure, plugin, wf

SLEEPY = """\
    import time

    from wiseflow import ConnectorPlugin, Record


    class Sleepy(ConnectorPlugin):
        def fetch(self, state):
            time.sleep(120)  # far beyond the 1 s ceiling: the host must stop it
            yield Record(id="1", source=self.ctx.name)
"""
TOML = '[plugin]\nname = "{0}"\nversion = "1.0"\nkind = "connector"\nentry = "plugin:{1}"\n'


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("c3-operator")
    plugin(root / "plugins", "sleepy", TOML.format("sleepy", "Sleepy") + "[plugin.resources]\n"
           "timeout_s = 60\n", SLEEPY)  # fmt: skip
    (root / "p.toml").write_text('[pipeline]\nname = "p"\n\n[[sources]]\nplugin = "sleepy"\n')
    return root


def config(root: Path, body: str) -> Path:
    path = root / "configs" / f"{hashlib.sha256(body.encode()).hexdigest()[:12]}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text('[wiseflow]\nplugin_dirs = ["../plugins"]\n' + body)
    return path


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('[plugins.files]\nlevel = "trusted"\n[plugins.sleepy]\nlevel = "root"\n', "sleepy.level"),
        ('[plugins.sleepy]\ngrant.network = "example.org:443"\n', "sleepy.grant.network"),
        ('[plugins.sleepy]\nenabled = "no"\n', "sleepy.enabled"),
        ("[plugins.sleepy]\nretry = 5\n", "sleepy.retry"),
        ('[policy]\nlevel = "paranoid"\n', "policy.level"),
        ("[policy]\nmax_memory_mb = -5\n", "policy.max_memory_mb"),
    ],
)
def test_c3_a_bad_value_names_its_table(root: Path, body: str, where: str) -> None:
    error = failure(wf("--config", str(config(root, body)), "plugins", "list", "--json",
                       cwd=root), "WF105", 2)  # fmt: skip
    assert where in error["message"] and "[...]" not in error["message"], error


def test_c3_levels_default_and_per_plugin(root: Path) -> None:
    body = '[policy]\nlevel = "strict"\n\n[plugins.sleepy]\nlevel = "trusted"\n'
    done = wf("--config", str(config(root, body)), "plugins", "list", "--json", cwd=root)
    levels = {r["name"]: r["level"] for r in json.loads(done.stdout)["plugins"]}
    assert levels["sleepy"] == "trusted" and levels["files"] == "strict", levels


def test_c3_the_timeout_ceiling_binds_and_the_hint_names_it(root: Path) -> None:
    body = "[policy]\nmax_timeout_s = 1\n\n[plugins.sleepy]\nretry = { attempts = 1 }\n"
    done = wf("--config", str(config(root, body)), "run", "p.toml", "--json", cwd=root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    doc = json.loads(done.stdout)
    (error,) = doc["errors"]
    assert doc["status"] == "failed" and error["code"] == "WF401", doc
    assert "max_timeout_s" in error["hint"], error  # not only "raise resources.timeout_s"
