"""One local Ray cluster for the whole session, on 127.0.0.1, stopped at the end.

Started with ``ray start --head --block`` in its own process group (every Ray process it
starts stays in that group), stopped by killing that group: nothing else is touched.
Skipped, with the measured reason, where Ray is not installed or cannot start here.
The test process is connected to it per module only (``ray.shutdown`` after each): Ray's
threads in the driver must not outlive these tests (other tests count threads).

:class:`SecondNode` joins a second node (its own raylet, ``ray start --address=...``) to
that cluster on this machine, for the modules that need one.
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

import psutil
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


class SecondNode:
    """A second Ray node joined to the head on this machine: its own raylet and workers.

    It has :data:`CPUS` CPUs, one more than the head: an actor asking for that many can only
    be placed here. Started with ``ray start --block`` in its own process group, stopped by
    killing that group; :meth:`start` again replaces a node that was killed.
    """

    CPUS = 3

    def __init__(self, head: str, logs: Path) -> None:
        self.head, self.logs = head, logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.node_id = ""
        self._starts = 0

    def start(self) -> None:
        """Start it and wait until the cluster lists it alive (skip with the reason if not)."""
        self.stop()
        self._starts += 1
        log_path = self.logs / f"node2-{self._starts}.log"
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("ray")), "start", "--block",
                    f"--address={self.head}", f"--num-cpus={self.CPUS}",
                    '--resources={"wf_second": 1}', "--node-ip-address=127.0.0.1",
                    "--disable-usage-stats",
                ],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
            )  # fmt: skip
        deadline = time.monotonic() + START_DEADLINE
        while not (alive := self._alive()):  # a condition with a deadline, not a sleep
            if self.proc.poll() is not None or time.monotonic() > deadline:
                text = log_path.read_text(errors="replace")[-800:]
                self.stop()
                pytest.skip(
                    f"a second Ray node cannot join here (exit {self.proc.returncode}): {text}"
                )
            time.sleep(0.2)
        self.node_id = alive[0]

    @staticmethod
    def _alive() -> list[str]:
        """The ids of the second nodes the cluster lists alive."""
        import ray

        return [n["NodeID"] for n in ray.nodes() if n["Alive"] and "wf_second" in n["Resources"]]

    def raylet(self) -> psutil.Process:
        """The node's raylet: a process of the group this fixture started."""
        assert self.proc is not None
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            if child.name() == "raylet":
                return child
        raise AssertionError("the second node has no raylet")

    def stop(self) -> None:
        """Stop it (asked first, then killed) and wait until the cluster lists it dead.

        Until then Ray could still choose it for a new actor.
        """
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the group we started, and only it
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                continue
        proc.wait(timeout=60)
        deadline = time.monotonic() + START_DEADLINE
        while self._alive():  # a condition with a deadline, not a sleep for timing
            assert time.monotonic() < deadline, "the cluster still lists the stopped node"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def ray_node2(ray_cluster: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondNode]:
    """A second node joined to the session's cluster (this module's driver connected)."""
    node = SecondNode(ray_cluster, tmp_path_factory.mktemp("ray-node2"))
    node.start()
    try:
        yield node
    finally:
        node.stop()
