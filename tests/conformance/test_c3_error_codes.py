"""SPEC §7 from outside: each error code reached from the CLI, with the exit code of §6.

One user-made project holds a plugin per failure. Codes reached in the other c3 modules:
WF101, WF201, WF204, WF205 (test_c3_manifest), WF401 (test_c3_operator), WF602
(test_c3_replay_filters). Codes with no CLI path a user can take:
- WF405 (invalid state transition): a disabled plugin named in a pipeline is refused first
  (WF501 "pipeline uses disabled plugin(s)"); WF405 reaches Python embedders and Ray.
- WF406 (protocol violation): the frames on a worker's channel are written by wiseflow's
  own worker code, which a plugin cannot reach; tests/sandbox forges them.
- WF603 (hash mismatch): needs a TUF repository whose target was changed after signing;
  tests/repo builds one.

Found from outside: a folder plugin "files" version "1.0" beside the bundled "files" 1.0.0
(the same PEP 440 version) silently took its place; "1.0.0" was refused (WF104). Versions
are now compared as PEP 440 releases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside import plugin, wf

YIELD = "yield Record(id='1', source=self.ctx.name)"
BODIES = {
    "fine": YIELD,
    "secret": "yield Record(id='1', source=self.ctx.name, text=self.ctx.secret('TOKEN'))",
    "crash": "import os; os._exit(3)",
    "many": "yield from (Record(id=str(i), source=self.ctx.name) for i in range(10))",
    "spawns": "import subprocess; subprocess.run(['true']); " + YIELD,
}
EXTRA = {
    "secret": '[plugin.permissions]\nenv = ["TOKEN"]\n',
    "cyc-a": '[plugin.requires]\ncyc-b = ">=1"\n',
    "cyc-b": '[plugin.requires]\ncyc-a = ">=1"\n',
    "needs-new": '[plugin.requires]\nfine = ">=2"\n',
}
CODE = """\
    from wiseflow import ConnectorPlugin, ProcessorPlugin, Record


    class P(ConnectorPlugin):
        def fetch(self, state):
            {body}


    class Proc(ProcessorPlugin):
        def process(self, batch):
            raise RuntimeError("boom")
"""
HEAD = '[plugin]\nname = "{0}"\nversion = "1.0"\nkind = "{1}"\nentry = "plugin:{2}"\n'

#: code -> (exit code, extra wiseflow.toml, environment, argv)
CASES = {
    "WF102": (2, "", {}, ["run", "no-class.toml"]),
    "WF103": (2, "", {}, ["run", "wrong-kind.toml"]),
    "WF104": (2, "", {}, ["--plugin-dir", "shadow", "run", "files.toml"]),
    "WF105": (2, "[plugins.fine]\nlevel = 3\n", {}, ["run", "fine.toml"]),
    "WF202": (2, "", {}, ["run", "needs-new.toml"]),
    "WF203": (2, "", {}, ["run", "cyc-a.toml"]),
    "WF301": (1, "", {"TOKEN": "t0ken"}, ["run", "secret.toml"]),
    "WF302": (3, "", {}, ["run", "spawns.toml"]),
    "WF303": (3, "", {}, ["run", "locked.toml"]),
    "WF304": (3, "[policy]\nrequire_signature = true\n", {}, ["run", "fine.toml"]),
    "WF305": (3, "", {"WISEFLOW_SANDBOX_DISABLE": "landlock"}, ["run", "fine.toml"]),
    "WF402": (1, "[plugins.crash]\nretry = { attempts = 1 }\n", {}, ["run", "crash.toml"]),
    "WF403": (1, "[plugins.many]\nresources.max_records_per_run = 5\n", {}, ["run", "many.toml"]),
    "WF404": (
        1,
        "[plugins.failp]\nretry = { attempts = 1 }\nbreaker = { failures = 1 }\n",
        {},
        ["run", "breaker.toml"],
    ),  # fmt: skip
    "WF501": (2, "", {}, ["run", "no-such-file.toml"]),
    "WF502": (4, "", {}, ["--data-dir", "broken-store", "runs", "list"]),
    "WF601": (2, "", {}, ["plugins", "search", "text"]),
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("c3-codes")
    plugins = root / "plugins"
    for name in (*BODIES, "cyc-a", "cyc-b", "needs-new", "locked"):
        body = BODIES.get(name, YIELD)
        manifest = HEAD.format(name, "connector", "P") + EXTRA.get(name, "")
        plugin(plugins, name, manifest, CODE.format(body=body))
    plugin(
        plugins, "no-class", HEAD.format("no-class", "connector", "Gone"), CODE.format(body=YIELD)
    )
    plugin(plugins, "wrong-kind", HEAD.format("wrong-kind", "connector", "Proc"),
           CODE.format(body=YIELD))  # fmt: skip
    plugin(plugins, "failp", HEAD.format("failp", "processor", "Proc"), CODE.format(body=YIELD))
    # the bundled "files" is 1.0.0: "1.0" is the same PEP 440 version
    plugin(
        root / "shadow", "files", HEAD.format("files", "connector", "P"), CODE.format(body=YIELD)
    )
    for name in (*BODIES, "cyc-a", "needs-new", "locked", "no-class", "wrong-kind", "files"):
        (root / f"{name}.toml").write_text(
            f'[pipeline]\nname = "p"\n\n[[sources]]\nplugin = "{name}"\n'
        )
    (root / "breaker.toml").write_text(
        '[pipeline]\nname = "b"\nbatch_size = 1\n\n[[sources]]\nplugin = "many"\n\n'
        '[[processors]]\nplugin = "failp"\n'
    )
    (root / "broken-store").mkdir()
    (root / "broken-store" / "wiseflow.db").write_text("this is not a database\n" * 4)
    (root / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n')
    assert wf("plugins", "grant", "locked", cwd=root).returncode == 0
    with (plugins / "locked" / "plugin.py").open("a") as f:
        f.write("# changed after approval\n")
    return root


@pytest.mark.parametrize("code", sorted(CASES))
def test_c3_each_error_code_from_the_cli(root: Path, code: str) -> None:
    exit_code, extra, env, argv = CASES[code]
    config = root / f"{code}.toml"
    config.write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n' + extra)
    done = wf("--config", str(config), "--json", *argv, cwd=root, env=env)
    assert done.returncode == exit_code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    doc = json.loads(done.stdout)
    if "error" in doc:  # refused before or instead of a run
        assert doc["error"]["code"] == code and doc["error"]["hint"], doc
        assert "t0ken" not in done.stdout + done.stderr
        return
    codes = {c for entry in doc["plugins"].values() for c in entry["error_codes"]}
    assert code in codes, doc  # a run that completed with failures (§6: exit 1)
    assert "t0ken" not in done.stdout + done.stderr  # a secret value never shown (§11)
