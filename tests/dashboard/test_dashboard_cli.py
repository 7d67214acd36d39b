"""`wiseflow dashboard` as an operator starts it: the bind refusal, a port in use, serving."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from wf_cli import sigint_default, wf

pytest.importorskip("starlette")


@pytest.mark.parametrize("host", ["0.0.0.0", "example.com"])
def test_a_non_loopback_host_is_refused_without_allow_remote(tmp_path: Path, host: str) -> None:
    """--host that other machines reach, without --allow-remote: exit 2 naming the flag,
    no traceback, nothing listening; --json gives one error document."""
    res = wf("dashboard", "--host", host, "--port", "0", cwd=tmp_path, timeout=60)
    assert res.returncode == 2
    assert "--allow-remote" in res.stderr and "Traceback" not in res.stderr
    doc = json.loads(wf("dashboard", "--host", host, "--json", cwd=tmp_path, timeout=60).stdout)
    assert "--allow-remote" in doc["error"]["message"]


def test_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    """A port another process holds: exit 2 naming --port, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = wf("dashboard", "--port", str(port), cwd=tmp_path, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "--port" in res.stderr and "Traceback" not in res.stderr


def test_the_dashboard_serves_until_interrupted(tmp_path: Path) -> None:
    """`wiseflow dashboard --port 0 --json` prints its URL (with the token), serves the page
    and the API, and ends on Ctrl-C (SIGINT) with 130, the code of an interrupt, and no
    traceback."""
    with sigint_default():  # the Ctrl-C this test sends must reach it
        proc = subprocess.Popen(
            [sys.executable, "-m", "wiseflow", "dashboard", "--port", "0", "--json",
             "--data-dir", str(tmp_path / "data")],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    try:
        assert proc.stdout is not None
        doc = json.loads(proc.stdout.readline())
        assert doc["url"].startswith("http://127.0.0.1:") and "?token=" in doc["url"]
        base = doc["url"].split("/?")[0]
        assert httpx.get(base + "/api/runs", timeout=30).json() == {"runs": []}
        token = doc["url"].split("token=")[1]
        assert f'content="{token}"' in httpx.get(doc["url"], timeout=30).text
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not (tmp_path / "data").exists()  # reading made nothing
    assert os.listdir(tmp_path) == []
