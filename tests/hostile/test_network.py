"""Attack family: reaching the network without going through ``ctx.http``."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest
from sandbox_kit import RunnerFactory

from wiseflow import PermissionDenied

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import socket

def _try(fn):
    try:
        return {"ok": True, "value": fn()}
    except OSError as exc:
        return {"ok": False, "errno": exc.errno}

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def tcp(self, host, port):
        def go():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect((host, port))
            s.sendall(b"stolen")
            return "connected"
        return _try(go)

    def udp(self, host, port):
        def go():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            return s.sendto(b"stolen", (host, port))
        return _try(go)

    def tcp6(self):
        return _try(lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).fileno())

    def unix(self, path):
        def go():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(b"stolen")
            return "connected"
        return _try(go)

    def abstract(self, name):
        def go():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("\\0" + name)
            return "connected"
        return _try(go)

    def family(self, family, kind):
        return _try(lambda: socket.socket(family, kind).fileno())

    def raw_syscall(self):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.syscall(41, 2, 1, 0)  # socket(AF_INET, SOCK_STREAM, 0)
        return {"fd": fd, "errno": ctypes.get_errno()}

    def http_ungranted(self, url):
        return self.ctx.http.get(url).status
"""


def test_tcp_to_loopback_service_fails(
    sandbox: RunnerFactory, tcp_server: tuple[int, list[bytes]]
) -> None:
    """A loopback service the host can reach is unreachable from the worker."""
    port, seen = tcp_server
    probe = socket.create_connection(("127.0.0.1", port), timeout=2)  # the host can
    probe.close()
    r = sandbox(ATTACKER)
    out = r.call("tcp", ["127.0.0.1", port], 10)
    assert out == {"ok": False, "errno": errno.EPERM}
    assert seen == [b""]  # only the host's own probe connection


def test_udp_and_ipv6_sockets_fail(sandbox: RunnerFactory) -> None:
    """UDP (which Landlock does not cover) and IPv6 sockets cannot even be created."""
    r = sandbox(ATTACKER)
    assert r.call("udp", ["127.0.0.1", 53], 10) == {"ok": False, "errno": errno.EPERM}
    assert r.call("tcp6", [], 10) == {"ok": False, "errno": errno.EPERM}


def test_unix_socket_to_host_service_fails(sandbox: RunnerFactory, tmp_path: Path) -> None:
    """A path unix socket the host listens on (Landlock's gap) is closed by seccomp."""
    path = str(tmp_path / "host.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen()
    srv.settimeout(0.3)
    try:
        r = sandbox(ATTACKER)
        assert r.call("unix", [path], 10) == {"ok": False, "errno": errno.EPERM}
        with pytest.raises(TimeoutError):
            srv.accept()
    finally:
        srv.close()


def test_abstract_unix_socket_fails(sandbox: RunnerFactory) -> None:
    """An abstract unix socket of the host cannot be reached."""
    name = f"wiseflow-test-{os.getpid()}"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("\0" + name)
    srv.listen()
    try:
        r = sandbox(ATTACKER)
        assert r.call("abstract", [name], 10)["ok"] is False
    finally:
        srv.close()


@pytest.mark.parametrize(
    ("family", "kind"),
    [
        (socket.AF_NETLINK, socket.SOCK_RAW),
        (socket.AF_PACKET, socket.SOCK_RAW),
        (socket.AF_INET, socket.SOCK_RAW),
        (socket.AF_ALG, socket.SOCK_SEQPACKET),
    ],
    ids=["netlink", "packet", "raw-inet", "alg"],
)
def test_other_socket_families_fail(sandbox: RunnerFactory, family: int, kind: int) -> None:
    """Netlink, packet, raw and crypto sockets are refused like the others."""
    r = sandbox(ATTACKER)
    assert r.call("family", [int(family), int(kind)], 10) == {"ok": False, "errno": errno.EPERM}


def test_raw_socket_syscall_via_ctypes_fails(sandbox: RunnerFactory) -> None:
    """Calling socket(2) through ctypes, past Python's socket module, is refused too."""
    r = sandbox(ATTACKER)
    assert r.call("raw_syscall", [], 10) == {"fd": -1, "errno": errno.EPERM}


def test_worker_has_its_own_network_namespace(sandbox: RunnerFactory) -> None:
    """The worker lives in a private network namespace, apart from the host's interfaces."""
    r = sandbox(ATTACKER)
    pid = r.pid()
    assert pid is not None
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")


def test_ctx_http_to_ungranted_host_is_denied(sandbox: RunnerFactory) -> None:
    """``ctx.http`` to a host that was not granted raises WF301 inside the plugin."""
    r = sandbox(ATTACKER)
    with pytest.raises(PermissionDenied) as info:
        r.call("http_ungranted", ["http://example.org/"], 10)
    assert info.value.code == "WF301"
