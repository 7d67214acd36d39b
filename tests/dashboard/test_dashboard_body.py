"""A change request whose body never ends: the dashboard answers after its 1 KB bound,
it does not read (and keep in memory) what the client goes on sending."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from wiseflow._dashboard import DashboardServer, Sources


def _post(port: int, token: str, declared: int, sent: bytes) -> bytes:
    """POST /api/dead-letters/replay declaring ``declared`` bytes and sending ``sent``;
    the answer's first bytes (b"" when none came within a generous deadline)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            f"POST /api/dead-letters/replay HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-Wiseflow-Token: {token}\r\nContent-Length: {declared}\r\n\r\n".encode()
            + sent
        )
        try:
            return sock.recv(200)
        except TimeoutError:
            return b""


def test_an_endless_body_is_refused_after_the_bound(tmp_path: Path) -> None:
    with DashboardServer(Sources(tmp_path), port=0) as server:
        # 1 GB declared, 2 KB sent: answered at once, the rest never awaited
        got = _post(server.port, server.token, 1 << 30, b"{" + b" " * 2047)
        assert got.startswith(b"HTTP/1.1 400"), got
        # positive control: a body within the bound is read and judged (no run 7: 404)
        got = _post(server.port, server.token, 10, b'{"run": 7}')
        assert got.startswith(b"HTTP/1.1 404"), got
