"""A hostile plugin whose worker runs on a Ray node is confined there as it is locally.

The attacks (a file outside its grant, the network, exec) succeed in the positive control
(level ``trusted``: no confinement) and fail on Ray with the same errors as locally; the
host survives and the run ends normally.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ray_kit import project, rows, run

HOSTILE = """\
import os, socket, subprocess
from wiseflow import ProcessorPlugin

def attempt(what):
    try:
        what()
    except Exception as exc:
        return f"{{type(exc).__name__}}:{{getattr(exc, 'errno', None)}}"
    return "ok"

def read():
    with open({secret!r}) as f:
        f.read()

def connect():
    socket.create_connection(("127.0.0.1", {port}), timeout=5).close()

def run_exec():
    subprocess.run(["/bin/true"], check=True)

class P(ProcessorPlugin):
    def process(self, batch):
        got = {{"read": attempt(read), "net": attempt(connect), "exec": attempt(run_exec)}}
        return [r.annotate("attempts", got) for r in batch]
"""


@pytest.fixture
def listener() -> Iterator[int]:
    """An HTTP server on 127.0.0.1 (the host's), started by the test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _attempts(root: Path) -> set[str]:
    found = rows(root, "select annotations from records")
    return {json.dumps(json.loads(a)["attempts"], sort_keys=True) for (a,) in found}


def test_hostile_plugin_on_ray_is_confined_like_local(
    tmp_path: Path, ray_cluster: str, listener: int
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the host's secret")
    code = HOSTILE.format(secret=str(secret), port=listener)
    waved = 'audit_block = "none"\n'  # the static audit would refuse it before any run
    control = project(tmp_path / "control", code, n=5, level="trusted", extra_config=waved)
    local = project(tmp_path / "local", code, n=5, extra_config=waved)
    remote = project(tmp_path / "ray", code, n=5, extra_config=waved)

    res = run(control, None)  # positive control: no confinement, every attempt works
    assert res.stored == 5
    assert _attempts(control) == {json.dumps({"exec": "ok", "net": "ok", "read": "ok"})}

    a, b = run(local, None), run(remote, ray_cluster)
    assert (b.status, b.stored, b.dead_letters) == ("ok", 5, 0)  # the host survived
    denied = _attempts(remote)
    assert denied == _attempts(local)  # the same errors on Ray as locally
    (got,) = (json.loads(d) for d in denied)
    assert got["read"] == "PermissionError:13"  # Landlock: EACCES outside the grant
    assert got["net"] == "PermissionError:1"  # seccomp: socket(AF_INET) is EPERM
    assert got["exec"] == "PermissionError:1"  # seccomp: execve is EPERM
    assert a.stored == 5
