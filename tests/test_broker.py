"""The broker: every capability request checked against the grant, on a real local server."""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wiseflow import PermissionDenied
from wiseflow._contract._manifest import Permissions
from wiseflow._policy._broker import Broker, HttpLimits
from wiseflow._policy._grants import Effective, Grant, effective_permissions


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{port}/ok")
            self.end_headers()
        elif self.path.startswith("/away"):
            self.send_response(302)
            self.send_header("Location", "http://example.invalid/secret")
            self.end_headers()
        elif self.path == "/big":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 50_000)
        else:
            body = f"ok host={self.headers['Host']}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def broker(tmp_path: Path, **perms: object) -> Broker:
    return Broker(
        "p",
        Effective(**perms),  # type: ignore[arg-type]
        data_dir=str(tmp_path / "data"),
        requires=frozenset({"dep"}),
        call_dependency=lambda n, m, a: (n, m, a),
        http_limits=HttpLimits(max_bytes=10_000, timeout_s=5),
        environ={"TOKEN": "s3cret", "OTHER": "no"},
    )


def test_granted_host_is_fetched_and_redirects_followed(tmp_path: Path, server: int) -> None:
    """A granted loopback address is reachable; a redirect to a granted host is followed."""
    b = broker(tmp_path, network=(f"127.0.0.1:{server}",))
    resp = b.http_request("GET", f"http://127.0.0.1:{server}/hop", {}, None, None)
    assert (resp.status, resp.text) == (200, f"ok host=127.0.0.1:{server}")
    assert resp.url.endswith("/ok")
    b.close()


def test_ungranted_host_port_and_redirect_are_denied(tmp_path: Path, server: int) -> None:
    """Another port, and a redirect to an ungranted host, raise WF301 and are counted."""
    b = broker(tmp_path, network=(f"127.0.0.1:{server}",))
    with pytest.raises(PermissionDenied) as info:
        b.http_request("GET", f"http://127.0.0.1:{server + 1}/", {}, None, None)
    assert info.value.code == "WF301" and info.value.permission == "network"
    assert "wiseflow plugins grant p --network" in (info.value.hint or "")
    with pytest.raises(PermissionDenied, match=r"example\.invalid"):
        b.http_request("GET", f"http://127.0.0.1:{server}/away", {}, None, None)
    assert b.denials == 2
    b.close()


def test_name_resolving_to_loopback_is_refused_unless_the_address_is_granted(
    tmp_path: Path, server: int
) -> None:
    """A granted *name* that resolves to a private address is refused (no SSRF)."""
    name = socket.gethostname()
    try:
        addr = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"this machine's hostname {name!r} does not resolve")
    if not addr.startswith("127."):
        pytest.skip(f"hostname {name!r} resolves to {addr}, not loopback")
    b = broker(tmp_path, network=(f"{name}:{server}",))
    with pytest.raises(PermissionDenied, match="private address"):
        b.http_request("GET", f"http://{name}:{server}/", {}, None, None)
    b.close()


def test_response_size_is_capped(tmp_path: Path, server: int) -> None:
    """A response over the cap is refused rather than buffered."""
    b = broker(tmp_path, network=(f"127.0.0.1:{server}",))
    with pytest.raises(PermissionDenied, match="over 10000 bytes"):
        b.http_request("GET", f"http://127.0.0.1:{server}/big", {}, None, None)
    b.close()


def test_secrets_only_when_granted(tmp_path: Path) -> None:
    """A granted secret is read from the host environment; any other name is WF301."""
    b = broker(tmp_path, env=("TOKEN",))
    assert b.secret("TOKEN") == "s3cret"
    with pytest.raises(PermissionDenied) as info:
        b.secret("OTHER")
    assert info.value.permission == "env"


def test_reads_only_under_granted_roots_after_resolving_links(tmp_path: Path) -> None:
    """`..` and symlinks are resolved before the check; the data dir is always readable."""
    root = tmp_path / "granted"
    root.mkdir()
    (root / "a.txt").write_text("a")
    outside = tmp_path / "secret.txt"
    outside.write_text("s")
    (root / "link").symlink_to(outside)
    b = broker(tmp_path, fs_read=(str(root),))
    assert b.check_read(str(root / "a.txt")) == str(root / "a.txt")
    for bad in (root / "link", root / ".." / "secret.txt", Path("/etc/passwd")):
        with pytest.raises(PermissionDenied):
            b.check_read(str(bad))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "own").write_text("x")
    assert b.check_read(str(tmp_path / "data" / "own"))
    with pytest.raises(PermissionDenied):
        b.check_read(f"/proc/{os.getpid()}/environ")


def test_dependency_calls_only_to_declared_plugins(tmp_path: Path) -> None:
    """ctx.plugin() reaches declared dependencies' public methods only."""
    b = broker(tmp_path)
    assert b.call_plugin("dep", "process", [1]) == ("dep", "process", [1])
    with pytest.raises(PermissionDenied):
        b.call_plugin("other", "process", [])
    with pytest.raises(PermissionDenied):
        b.call_plugin("dep", "shutdown", [])


def test_effective_permissions_intersect_declared_and_granted(tmp_path: Path) -> None:
    """Declared AND granted; placeholders are granted by the operator's config values only."""
    declared = Permissions(
        network=("api.example.org:443", "{urls}"),
        env=("TOKEN", "OTHER"),
        fs_read=("{root}",),
        subprocess=True,
    )
    grant = Grant(network=("api.example.org:443",), env=("TOKEN",))
    eff = effective_permissions(
        declared, grant, {"urls": ["https://feeds.example.org/rss"], "root": str(tmp_path)}
    )
    assert eff.network == ("feeds.example.org:443", "api.example.org:443")
    assert eff.env == ("TOKEN",)
    assert eff.fs_read == (str(tmp_path.resolve()),)
    assert eff.subprocess is False
    assert set(eff.denied) == {"env:OTHER", "subprocess"}
    # a default the plugin supplies itself grants nothing
    assert effective_permissions(declared, grant, {}).fs_read == ()
    strict = effective_permissions(declared, Grant(all=True), {}, level="strict")
    assert (strict.network, strict.env, strict.subprocess) == ((), (), False)


DRIP_SERVER = """
import http.server, sys, time
class Drip(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "60")
        self.end_headers()
        for _ in range(60):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.1)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def test_a_slow_drip_response_is_cut_at_the_total_deadline(tmp_path: Path) -> None:
    """A server sending a byte every 0.1 s (never idle long enough for a read timeout) is cut
    off when the whole exchange exceeds the limit, instead of holding the host for 6 s."""
    import subprocess
    import sys
    import time

    from wiseflow import TransientError

    proc = subprocess.Popen([sys.executable, "-c", DRIP_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        b = Broker(
            "p", Effective(network=(f"127.0.0.1:{port}",)), data_dir=None,
            http_limits=HttpLimits(timeout_s=1.0),
        )  # fmt: skip
        t0 = time.monotonic()
        with pytest.raises(TransientError, match="longer than 1s in total"):
            b.http_request("GET", f"http://127.0.0.1:{port}/", {}, None, None)
        assert time.monotonic() - t0 < 3  # the body alone would take 6 s
        b.close()
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
