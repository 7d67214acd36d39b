"""One local Ray cluster for the whole session, on 127.0.0.1, stopped at the end.

Started with ``ray start --head --block`` in its own process group (every Ray process it
starts stays in that group), stopped by killing that group: nothing else is touched.
Skipped, with the measured reason, where Ray is not installed or cannot start here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Seconds for a cluster to come up (generous: the machine is shared).
START_DEADLINE = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address (``127.0.0.1:PORT``) of a running local cluster; the driver connected."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"Ray is not installed here ({exc}): pip install 'wiseflow[ray]'")
    ray_bin = Path(sys.executable).with_name("ray")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="wf-ray-")
    log = open(Path(temp) / "start.log", "wb")  # noqa: SIM115 (closed at the end)
    proc = subprocess.Popen(
        [
            str(ray_bin), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
            "--include-dashboard=false", "--node-ip-address=127.0.0.1",
            f"--temp-dir={temp}", "--disable-usage-stats",
        ],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )  # fmt: skip
    deadline = time.monotonic() + START_DEADLINE
    try:
        while not _reachable(port):  # a condition with a deadline, not a sleep for timing
            if proc.poll() is not None or time.monotonic() > deadline:
                text = (Path(temp) / "start.log").read_text(errors="replace")[-800:]
                pytest.skip(f"Ray cannot start here (exit {proc.returncode}): {text}")
            time.sleep(0.2)
        from wiseflow._ray._cluster import connect

        address = f"127.0.0.1:{port}"
        connect(address)
        yield address
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        os.killpg(proc.pid, signal.SIGKILL)  # the group we started, and only it
        proc.wait(timeout=60)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
