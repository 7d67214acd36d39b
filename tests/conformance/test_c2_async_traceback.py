"""SPEC §12: a plugin failure keeps the plugin's traceback, its own frames first.

Found from outside: for an ``async`` method (SPEC §2 allows them) the stored traceback
began with asyncio's ``run_until_complete`` frame, not the plugin's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from outside import plugin, project, wf

MANIFEST = """\
    [plugin]
    name = "{name}"
    version = "1.0.0"
    kind = "{kind}"
    entry = "plugin:{cls}"
    api = ">=1,<2"
"""

BROKEN = """\
    from wiseflow import ProcessorPlugin


    class Broken(ProcessorPlugin):
        async def process(self, batch):
            raise ValueError("boom")
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_c2_async_method_traceback_starts_in_the_plugin(tmp_path: Path, level: str) -> None:
    plugin(
        tmp_path / "plugins",
        "counter",
        MANIFEST.format(name="counter", kind="connector", cls="Counter"),
    )
    plugin(
        tmp_path / "plugins",
        "broken",
        MANIFEST.format(name="broken", kind="processor", cls="Broken"),
        BROKEN,
    )
    project(tmp_path, f'[policy]\nlevel = "{level}"\n')
    with (tmp_path / "p.toml").open("a") as f:
        f.write('\n[[processors]]\nplugin = "broken"\n')
    done = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    letters = json.loads(wf("dead-letters", "list", "--json", cwd=tmp_path).stdout)
    assert letters["dead_letters"], letters
    for letter in letters["dead_letters"]:
        frames = [ln for ln in letter["traceback"].splitlines() if ln.startswith("  File ")]
        assert frames, letter["traceback"]
        assert str(tmp_path / "plugins" / "broken" / "plugin.py") in frames[0], frames
