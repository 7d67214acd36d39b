"""The pipe channel between host and worker (``_pipes``): a worker cannot kill its host.

A write to a pipe nobody reads raises SIGPIPE, fatal to a host that does not ignore it (an
embedding program may restore the default). The host keeps a copy of the worker's read
end, so a plugin that closes its end of the channel gets its worker ended (WF402) while
the host lives on. The control takes that copy away and the same attack kills the host.
Each host runs in a child process with SIGPIPE at its default, so the control's death
is not pytest's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sandbox_kit import write_plugin

from wiseflow._sandbox._pipes import PIPE_SIZE, PipeChannel, host_pipes
from wiseflow._sandbox._protocol import Result

CLOSER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def close_reader(self):
        os.close(int(sys.argv[3]))  # its end of the pipe from the host
        return "closed"

    def ping(self):
        return "pong"
"""

HOST = """
import signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as an embedding program may have it

import wiseflow._sandbox._launch as launch
from wiseflow import WiseflowError
from wiseflow.testing import make_manager

if sys.argv[2] == "control":  # the host holds no copy of the worker's read end
    import os
    real = launch.host_pipes

    def without_keep():
        (r, w, keep), child = real()
        os.close(keep)
        return (r, w, -1), child

    launch.host_pipes = without_keep
root = sys.argv[1]
m = make_manager(plugin_dirs=[root + "/plugins"], data_dir=root + "/data", level="sandboxed")
h = m.start("closer")
print(h.runner.call("close_reader", [], 30), flush=True)
try:
    h.runner.call("ping", [], 30)
    print("answered", flush=True)
except WiseflowError as exc:
    print("survived", exc.code, flush=True)
m.close()
"""


def _host(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    write_plugin(tmp_path, CLOSER, name="closer", kind="processor")
    script = tmp_path / "host.py"
    script.write_text(textwrap.dedent(HOST))
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_worker_closing_its_end_cannot_kill_the_host(tmp_path: Path) -> None:
    """The attack: the plugin closes the pipe it reads. The host's next call ends that
    worker with WF402 and the host process exits normally."""
    got = _host(tmp_path, "protected")
    assert got.returncode == 0, got.stderr[-2000:]
    lines = got.stdout.split()
    assert lines[0] == "closed"
    assert lines[1:] == ["survived", "WF402"], got.stdout


def test_control_without_the_kept_end_sigpipe_kills_the_host(tmp_path: Path) -> None:
    """Control: without the host's copy of the read end, the same attack kills the host
    with SIGPIPE at its next write."""
    got = _host(tmp_path, "control")
    assert got.stdout.split() == ["closed"], got.stdout
    assert got.returncode == -signal.SIGPIPE, (got.returncode, got.stderr[-2000:])


def test_pipes_are_enlarged_and_close_on_exec() -> None:
    """Each pipe holds a 500-record batch without the writer waiting; no end leaks into a
    program the host runs; the host's write end never blocks."""
    import fcntl

    (hr, hw, keep), (wr, ww) = host_pipes()
    try:
        for fd in (hr, hw, keep, wr, ww):
            assert not os.get_inheritable(fd)
        assert not os.get_blocking(hw)
        assert os.get_blocking(wr) and os.get_blocking(ww)
        f_getpipe_sz = getattr(fcntl, "F_GETPIPE_SZ", 1032)
        assert fcntl.fcntl(hw, f_getpipe_sz) == PIPE_SIZE
        assert fcntl.fcntl(ww, f_getpipe_sz) == PIPE_SIZE
    finally:
        for fd in (hr, hw, keep, wr, ww):
            os.close(fd)


def test_blocking_reads_and_sends_honour_the_timeout() -> None:
    """``timeout`` bounds a blocking read and a send into a full pipe (TimeoutError)."""
    (hr, hw, keep), (wr, ww) = host_pipes()
    host = PipeChannel(hr, hw, keep=keep)
    worker = PipeChannel(wr, ww, peer_checked=True)
    try:
        worker.timeout = 0.2
        with pytest.raises(TimeoutError):
            worker.recv()  # the host sent nothing
        worker.send(Result(id=1, value="x"))
        assert host.recv() == Result(id=1, value="x")
        big = Result(id=2, value="y" * (PIPE_SIZE + 1))  # more than the pipe holds
        with pytest.raises(TimeoutError):
            worker.send(big)  # the host does not read it
    finally:
        host.close()
        worker.close()
