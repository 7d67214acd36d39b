"""Operator policy from wiseflow.toml: signatures fail closed, origins, grants, timeouts."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wiseflow import SignatureInvalid, TransientError
from wiseflow._policy._grants import Grant
from wiseflow._policy._operator import OperatorConfig, PluginPolicy, Policy
from wiseflow.testing import make_manager

PROC = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.annotate("from", "{tag}") for r in batch]
"""


def write(root: Path, name: str, *, tag: str = "x", extra: str = "", code: str = PROC) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "processor"\nentry = "plugin:P"\n'
        + extra
    )
    (folder / "plugin.py").write_text(textwrap.dedent(code).replace("{tag}", tag))
    return folder


def test_require_signature_fails_closed(tmp_path: Path) -> None:
    """With require_signature = true, an unsigned plugin is refused (WF304), never run."""
    write(tmp_path / "p", "quiet", code="raise SystemExit('must not import')\n")
    cfg = OperatorConfig(policy=Policy(require_signature=True, level="trusted"))
    pm = make_manager(plugin_dirs=[tmp_path / "p"], config=cfg, data_dir=tmp_path / "d")
    with pytest.raises(SignatureInvalid) as info:
        pm.load("quiet")
    assert info.value.code == "WF304"
    assert "require_signature" in (info.value.hint or "")


def test_operator_picks_one_origin_of_a_duplicate(tmp_path: Path) -> None:
    """Same name and version in two folders is WF104, unless the operator names one folder."""
    write(tmp_path / "a", "twin", tag="a")
    write(tmp_path / "b", "twin", tag="b")
    dirs = [tmp_path / "a", tmp_path / "b"]
    pm = make_manager(plugin_dirs=dirs, level="trusted", data_dir=tmp_path / "d1")
    with pytest.raises(Exception) as info:
        pm.load("twin")
    assert getattr(info.value, "code", None) == "WF104"
    for chosen in ("b", "a"):
        cfg = OperatorConfig(plugins={"twin": PluginPolicy(origin=str(tmp_path / chosen / "twin"))})
        pm = make_manager(plugin_dirs=dirs, config=cfg, level="trusted", data_dir=tmp_path / chosen)
        from wiseflow import Record

        out = pm.start("twin").process([Record(id="1", source="s")])
        assert out[0].annotations == {"from": chosen}
        pm.close()


def test_declared_but_ungranted_permissions_are_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Starting a plugin whose declared permission is not granted says how to grant it."""
    write(tmp_path / "p", "wants", extra='[plugin.permissions]\nenv = ["API_KEY"]\n')
    pm = make_manager(plugin_dirs=[tmp_path / "p"], level="trusted", data_dir=tmp_path / "d")
    with caplog.at_level(logging.WARNING, logger="wiseflow.manager"):
        pm.start("wants")
    assert "wiseflow plugins grant wants --env API_KEY" in caplog.text
    pm.close()
    granted = OperatorConfig(plugins={"wants": PluginPolicy(grant=Grant(env=("API_KEY",)))})
    caplog.clear()
    pm = make_manager(plugin_dirs=[tmp_path / "p"], config=granted, level="trusted",
                      data_dir=tmp_path / "d2")  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="wiseflow.manager"):
        pm.start("wants")
    assert "not granted" not in caplog.text
    pm.close()


SLOW_SERVER = """
import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(3)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


@pytest.fixture
def slow_server() -> Iterator[int]:
    """A server answering after 3 s, in its own process (its threads are not the plugin's)."""
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    yield port
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_brokered_http_is_bounded_by_the_plugin_timeout(tmp_path: Path, slow_server: int) -> None:
    """A plugin with timeout_s = 1 gives up on a server that answers after 3 s (not 30 s)."""
    code = f"""\
    from wiseflow import ProcessorPlugin

    class P(ProcessorPlugin):
        def process(self, batch):
            self.ctx.http.get("http://127.0.0.1:{slow_server}/")
            return batch
    """
    write(
        tmp_path / "p", "caller", code=code,
        extra=f'[plugin.permissions]\nnetwork = ["127.0.0.1:{slow_server}"]\n'
        "[plugin.resources]\ntimeout_s = 1\n",
    )  # fmt: skip
    from wiseflow._policy._operator import Retry

    grant = Grant(network=(f"127.0.0.1:{slow_server}",))
    cfg = OperatorConfig(plugins={"caller": PluginPolicy(grant=grant, retry=Retry(attempts=1))})
    pm = make_manager(plugin_dirs=[tmp_path / "p"], config=cfg, level="trusted",
                      data_dir=tmp_path / "d")  # fmt: skip
    handle = pm.start("caller")
    from wiseflow import Record

    t0 = time.monotonic()
    with pytest.raises(TransientError, match="timeout"):
        handle.process([Record(id="1", source="s")])
    assert time.monotonic() - t0 < 3  # cut off before the server's answer
    pm.close()
