"""Fixtures for the hostile suite: each test runs a real attacking plugin in a worker."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sandbox"))

from sandbox_kit import WITNESS, RunnerFactory, require_layers, sandbox_fixture  # noqa: E402

from wiseflow import Record  # noqa: E402


@pytest.fixture(autouse=True)
def _needs_full_sandbox() -> None:
    require_layers("rlimits", "netns", "landlock", "seccomp")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunnerFactory]:
    """A factory that writes an attacking plugin and returns it running in a worker."""
    yield from sandbox_fixture(tmp_path)


@pytest.fixture
def host_survives(sandbox: RunnerFactory) -> Iterator[None]:
    """After the attack, a fresh sandboxed plugin in this host still works."""
    yield
    witness = sandbox(WITNESS, name="witness")
    out = witness.call("process", [[Record(id="w", source="t")]], 10)
    assert out[0].annotations == {"witness": True}


@contextmanager
def _loopback_recorder() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 recording the first bytes of each connection, in order.

    Connections are accepted one at a time, in the order the kernel queued them.
    """
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(100))
                except OSError:
                    seen.append(b"")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1], seen
    finally:
        stop.set()
        t.join(2)
        srv.close()


@pytest.fixture
def tcp_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 recording every connection it accepts."""
    with _loopback_recorder() as server:
        yield server


@pytest.fixture(scope="module")
def module_tcp_server() -> Iterator[tuple[int, list[bytes]]]:
    """``tcp_server``, shared by the tests of one module (its port is baked into a fixture)."""
    with _loopback_recorder() as server:
        yield server
