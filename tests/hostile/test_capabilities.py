"""Attack family: asking the host for more than was granted (secrets, hosts, redirects, plugins)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_kit import RunnerFactory

from wiseflow import PermissionDenied, Record
from wiseflow._policy._grants import Effective

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return self.ctx.plugin("helper").process(batch)

    def secret(self, name):
        return self.ctx.secret(name)

    def environ(self, name):
        return os.environ.get(name)

    def get(self, url):
        r = self.ctx.http.get(url)
        return {"status": r.status, "text": r.text, "url": r.url}

    def call_other(self, name):
        return self.ctx.plugin(name).result()
"""

HELPER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return [r.annotate("helper", os.getpid()) for r in batch]
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", self.target)
            self.end_headers()
            return
        body = b"hello from the host side"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_ungranted_secret_is_denied(sandbox: RunnerFactory) -> None:
    """A secret not granted raises WF301; the granted one is readable; env holds neither."""
    env = {"GITHUB_TOKEN": "t0k", "AWS_SECRET_ACCESS_KEY": "aws"}
    r = sandbox(ATTACKER, environ=env, permissions=Effective(env=("GITHUB_TOKEN",)))
    assert r.call("secret", ["GITHUB_TOKEN"], 10) == "t0k"
    with pytest.raises(PermissionDenied) as info:
        r.call("secret", ["AWS_SECRET_ACCESS_KEY"], 10)
    assert info.value.code == "WF301"
    assert info.value.permission == "env"  # type: ignore[attr-defined]
    assert r.call("environ", ["GITHUB_TOKEN"], 10) is None


def test_granted_host_works_and_redirect_to_ungranted_is_denied(
    sandbox: RunnerFactory, web: int
) -> None:
    """ctx.http reaches a granted host through the host; a redirect elsewhere is WF301."""
    other = web + 1 if web < 65535 else web - 1
    _Handler.target = f"http://127.0.0.1:{other}/"
    r = sandbox(ATTACKER, permissions=Effective(network=(f"127.0.0.1:{web}",)))
    out = r.call("get", [f"http://127.0.0.1:{web}/"], 10)
    assert out["status"] == 200
    assert out["text"] == "hello from the host side"
    with pytest.raises(PermissionDenied) as info:
        r.call("get", [f"http://127.0.0.1:{web}/redirect"], 10)
    assert f"127.0.0.1:{other}" in info.value.message


def test_undeclared_dependency_is_denied(sandbox: RunnerFactory) -> None:
    """ctx.plugin() of a plugin the manifest does not require raises WF301."""
    r = sandbox(ATTACKER)
    with pytest.raises(PermissionDenied) as info:
        r.call("call_other", ["store"], 10)
    assert info.value.permission == "requires"  # type: ignore[attr-defined]


def test_declared_sandboxed_dependency_is_called_through_the_host(
    sandbox: RunnerFactory,
) -> None:
    """A plugin calling a sandboxed dependency mid-call does not deadlock the host."""
    helper = sandbox(HELPER, name="helper")

    def call_dependency(name: str, method: str, args: list[Any]) -> Any:
        assert name == "helper"
        return helper.call(method, args, 10)

    r = sandbox(ATTACKER, requires=frozenset({"helper"}), call_dependency=call_dependency)
    out = r.call("process", [[Record(id="1", source="s")]], 10)
    assert out[0].annotations["helper"] == helper.pid()
    assert helper.pid() != r.pid()
