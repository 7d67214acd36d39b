"""One local Ray cluster for the whole session, on 127.0.0.1, stopped at the end.

Started with ``ray start --head --block`` in its own process group (every Ray process it
starts stays in that group), stopped by killing that group: nothing else is touched.
Skipped, with the measured reason, where Ray is not installed or cannot start here.
The test process is connected to it per module only (``ray.shutdown`` after each): Ray's
threads in the driver must not outlive these tests (other tests count threads).
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


@pytest.fixture(scope="module")
def ray_cluster(ray_head: str) -> Iterator[str]:
    """The address (``127.0.0.1:PORT``) of the running cluster; this process connected."""
    import ray

    from wiseflow._ray._cluster import connect

    connect(ray_head)
    try:
        yield ray_head
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def ray_head() -> Iterator[str]:
    """The address (``127.0.0.1:PORT``) of a running local cluster."""
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
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the group we started, and only it
        proc.wait(timeout=60)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
