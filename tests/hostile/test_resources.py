"""Attack family: exhausting resources — memory, CPU, wall time, file descriptors, disk, output."""

from __future__ import annotations

import errno
import logging
import time

import pytest
from sandbox_kit import RunnerFactory, group_members

from wiseflow import PluginTimeout, QuotaExceeded

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def memory_bomb(self):
        hog = []
        while True:
            hog.append(bytearray(8 * 1024 * 1024))

    def spin(self):
        while True:
            pass

    def sleep(self):
        time.sleep(3600)

    def open_files(self, limit):
        files = []
        try:
            while len(files) < limit:
                files.append(open(os.devnull))
        except OSError as exc:
            n = len(files)
            for f in files:
                f.close()
            return {"opened": n, "errno": exc.errno}
        return {"opened": len(files), "errno": 0}

    def fill_disk(self, mb):
        path = os.path.join(self.ctx.data_dir, "fill.bin")
        chunk = b"x" * (1024 * 1024)
        written = 0
        try:
            with open(path, "wb") as f:
                for _ in range(mb):
                    f.write(chunk)
                    f.flush()
                    written += 1
        except OSError as exc:
            return {"written_mb": written, "errno": exc.errno}
        return {"written_mb": written, "errno": 0}

    def flood(self, lines):
        for i in range(lines):
            print("flood line", i, flush=False)
        sys.stdout.flush()
        return lines
"""


def test_memory_bomb_is_a_quota_error(sandbox: RunnerFactory) -> None:
    """Allocating without end raises WF403 in the host; the worker survives to serve again."""
    r = sandbox(ATTACKER, memory_mb=160)
    with pytest.raises(QuotaExceeded) as info:
        r.call("memory_bomb", [], 30)
    assert info.value.code == "WF403"
    assert "160" in info.value.message
    assert r.call("process", [[]], 10) == []


def test_cpu_spin_times_out_and_the_worker_is_killed(sandbox: RunnerFactory) -> None:
    """A call that spins past its timeout is stopped for real (WF401): its process is gone."""
    r = sandbox(ATTACKER)
    pgid = r.pid()
    assert pgid is not None
    start = time.monotonic()
    with pytest.raises(PluginTimeout) as info:
        r.call("spin", [], 0.5)
    assert info.value.code == "WF401"
    assert time.monotonic() - start < 3
    assert group_members(pgid) == []


def test_cpu_quota_kills_the_worker_with_wf403(sandbox: RunnerFactory) -> None:
    """Spinning past the CPU quota (rlimit) ends the worker with WF403, before the timeout."""
    r = sandbox(ATTACKER, cpu_seconds=1)
    with pytest.raises(QuotaExceeded) as info:
        r.call("spin", [], 30)
    assert info.value.code == "WF403"
    assert "CPU" in info.value.message


def test_sleep_forever_times_out(sandbox: RunnerFactory) -> None:
    """A call that never returns ends with WF401 at its deadline."""
    r = sandbox(ATTACKER)
    start = time.monotonic()
    with pytest.raises(PluginTimeout):
        r.call("sleep", [], 0.3)
    assert time.monotonic() - start < 3


def test_fd_exhaustion_stops_at_the_limit(sandbox: RunnerFactory) -> None:
    """Opening files stops at max_open_files (EMFILE); the worker keeps serving."""
    r = sandbox(ATTACKER, max_open_files=32)
    out = r.call("open_files", [10_000], 10)
    assert out["errno"] == errno.EMFILE
    assert out["opened"] < 32
    assert r.call("process", [[]], 10) == []


def test_one_file_cannot_fill_the_disk(sandbox: RunnerFactory) -> None:
    """A file grows to the file-size limit and no further (EFBIG).

    Honest limit: the limit is per file; without a delegated cgroup or a quota-managed
    filesystem, many files can still add up.
    """
    r = sandbox(ATTACKER, max_file_mb=2)
    assert r.call("fill_disk", [50], 10) == {"written_mb": 2, "errno": errno.EFBIG}


def test_flooding_stdout_is_rate_limited(
    sandbox: RunnerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """100k printed lines become at most a burst of log lines plus a suppression notice."""
    r = sandbox(ATTACKER)
    with caplog.at_level(logging.INFO, logger="wiseflow.plugin.victim"):
        assert r.call("flood", [100_000], 30) == 100_000
        r.call("process", [[]], 10)
        time.sleep(0.05)
        r.close()
    lines = [rec for rec in caplog.records if rec.name == "wiseflow.plugin.victim"]
    assert len(lines) < 5_000
    assert any("suppressed" in rec.getMessage() for rec in lines)
