"""`--json` is one JSON document on stdout (SPEC §6), whatever plugin code runs in the host:
a trusted plugin printing (print, sys.stdout, fd 1) cannot break the document; what it
prints goes to stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside import plugin, wf

CHATTY = """\
    import os
    import sys

    print("chatter at import")

    from wiseflow import ConnectorPlugin, Record


    class Counter(ConnectorPlugin):
        def initialize(self, ctx):
            super().initialize(ctx)
            print("chatter in initialize")

        def fetch(self, state):
            print("chatter in fetch")
            sys.stdout.write("chatter through sys.stdout\\n")
            sys.stdout.flush()
            os.write(1, b"chatter on fd 1\\n")
            yield Record(id="1", source=self.ctx.name)
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_plugin_output_never_breaks_the_json_document(tmp_path: Path, level: str) -> None:
    plugin(
        tmp_path / "plugins",
        "counter",
        '[plugin]\nname = "counter"\nversion = "1.0"\nkind = "connector"\n'
        'entry = "plugin:Counter"\n',
        CHATTY,
    )
    (tmp_path / "wiseflow.toml").write_text(
        f'[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "{level}"\n'
    )
    (tmp_path / "p.toml").write_text('[pipeline]\nname = "p"\n[[sources]]\nplugin = "counter"\n')
    stderr = {}
    for argv in (("run", "p.toml"), ("plugins", "info", "counter"), ("plugins", "test", "counter")):
        done = wf(*argv, "--json", cwd=tmp_path)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        json.loads(done.stdout)  # exactly one document: chatter before or after fails here
        assert "chatter" not in done.stdout, (argv, done.stdout)
        stderr[argv[0]] = done.stderr
    if level == "trusted":  # what the plugin printed is not lost: it went to stderr
        assert "chatter in fetch" in stderr["run"], stderr
        assert "chatter on fd 1" in stderr["run"], stderr


def test_version_with_json_is_a_document(tmp_path: Path) -> None:
    done = wf("--version", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    text = wf("--version", cwd=tmp_path)
    assert text.stdout == f"wiseflow {doc['version']}\n", (text.stdout, doc)  # SPEC §12
