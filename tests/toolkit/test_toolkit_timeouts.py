"""A wait longer than the plugin's timeout_s, in a real sandboxed worker.

Each wait of the host for a stream's next item is bounded by the plugin's ``timeout_s``.
The toolkit sleeps at most ``max_sleep_s`` at a time and ``paginate`` hands back a pause
between slices: a connector that yields a checkpoint on a pause survives a 5 s wait under a
3 s timeout; one that ignores pauses is stopped by the host (WF401), as it must be.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"
COMMITS = "/repos/PyGithub/PyGithub/commits"

PLUGIN = """\
import msgspec

from wiseflow import ApiClient, Checkpoint, ConnectorPlugin, Record


class Config(msgspec.Struct):
    api_url: str
    heartbeat: bool


class Paced(ConnectorPlugin):
    Config = Config

    def initialize(self, ctx):
        self.ctx = ctx

    def fetch(self, state):
        cfg = self.ctx.config
        api = ApiClient(self.ctx.http, log=self.ctx.log, max_sleep_s=0.5)
        url = cfg.api_url + "/repos/PyGithub/PyGithub/commits?per_page=45"
        for page in api.paginate(url):
            if page.waiting and not cfg.heartbeat:
                continue  # swallows the pause: nothing reaches the host during the wait
            for item in page.items:
                yield Record(id=item["sha"], source=self.ctx.name, kind="commit")
            yield Checkpoint(state={"pages": page.number})
"""


def _replay_server() -> Any:
    spec = importlib.util.spec_from_file_location("replay_server", FIXTURES / "replay_server.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def limited() -> Iterator[Any]:
    """Recorded commits in two pages of 45; page 2 first answers 429 with Retry-After: 5."""
    mod = _replay_server()
    with mod.ReplayServer(["Repository.testGetCommits.txt"]) as srv:
        srv.repage(COMMITS, 45)
        srv.inject(COMMITS, 2, (429, {"Retry-After": "5"}, "{}"))
        yield srv


def run_paced(folder: Path, base: str, *, heartbeat: bool) -> dict[str, Any]:
    plugin = folder / "plugins" / "paced"
    plugin.mkdir(parents=True)
    (plugin / "plugin.toml").write_text(textwrap.dedent("""\
        [plugin]
        name = "paced"
        version = "1.0.0"
        kind = "connector"
        entry = "plugin:Paced"

        [plugin.permissions]
        network = ["{api_url}"]

        [plugin.resources]
        timeout_s = 3
        """))  # fmt: skip
    (plugin / "plugin.py").write_text(PLUGIN)
    (folder / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "sandboxed"\n'
        "[plugins.paced]\nretry = { attempts = 1 }\n"
    )
    (folder / "p.toml").write_text(
        '[pipeline]\nname = "paced"\n[[sources]]\nplugin = "paced"\n'
        f'config = {{ api_url = "{base}", heartbeat = {str(heartbeat).lower()} }}\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "wiseflow", "run", "p.toml", "--json"],
        cwd=folder, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert done.stdout, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    assert "status" in doc, (doc, done.stderr)
    return doc


def test_pauses_keep_a_stream_alive_through_a_wait_longer_than_timeout(
    limited: Any, tmp_path: Path
) -> None:
    """A 5 s rate-limit wait under timeout_s = 3: the run completes with all 90 commits."""
    doc = run_paced(tmp_path, limited.base, heartbeat=True)
    assert doc["status"] == "ok", doc["errors"]
    assert doc["records"]["stored"] == 90
    pages = [limited.page_of(r["path"]) for r in limited.requests]
    assert pages == [1, 2, 2]


def test_a_stream_silent_for_longer_than_timeout_is_stopped(limited: Any, tmp_path: Path) -> None:
    """Negative control: ignoring the pauses, the same wait trips the host's WF401."""
    doc = run_paced(tmp_path, limited.base, heartbeat=False)
    assert doc["status"] == "failed"
    assert doc["errors"][0]["code"] == "WF401"
    assert doc["records"]["stored"] == 45  # the page before the wait was delivered
