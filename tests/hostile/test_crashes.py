"""Attack family: crashing the worker mid-call and mid-stream (os._exit, segfault, abort)."""

from __future__ import annotations

import logging
import os
import time

import pytest
from sandbox_kit import RunnerFactory, process_alive

from wiseflow import Record, WorkerCrashed

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import ctypes

class P(ProcessorPlugin):
    def process(self, batch):
        if any(r.id == "boom" for r in batch):
            os._exit(3)
        return batch

    def segfault(self):
        ctypes.string_at(0)

    def abort(self):
        os.abort()
"""

CONNECTOR = """
class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(10):
            yield Record(id=str(i), source="c")
        yield Checkpoint(state={"at": 10})
        os._exit(9)
"""


def test_exit_mid_batch_is_wf402_with_status(sandbox: RunnerFactory) -> None:
    """os._exit in the middle of a batch: WF402 naming the exit status; no zombie left."""
    r = sandbox(ATTACKER)
    pid = r.pid()
    assert pid is not None
    batch = [Record(id="a", source="s"), Record(id="boom", source="s")]
    with pytest.raises(WorkerCrashed) as info:
        r.call("process", [batch], 10)
    assert info.value.code == "WF402"
    assert "status 3" in info.value.message
    assert not process_alive(pid)
    with pytest.raises(ChildProcessError):  # already reaped: no zombie
        os.waitpid(pid, os.WNOHANG)
    with pytest.raises(WorkerCrashed):
        r.call("process", [[]], 10)


def test_segfault_is_wf402_with_signal_name(sandbox: RunnerFactory) -> None:
    """A segfault in C code ends the worker: WF402 naming SIGSEGV."""
    r = sandbox(ATTACKER)
    with pytest.raises(WorkerCrashed) as info:
        r.call("segfault", [], 10)
    assert "SIGSEGV" in info.value.message


def test_abort_is_wf402_with_signal_name(sandbox: RunnerFactory) -> None:
    """abort() ends the worker: WF402 naming SIGABRT (and no core file: RLIMIT_CORE=0)."""
    r = sandbox(ATTACKER)
    with pytest.raises(WorkerCrashed) as info:
        r.call("abort", [], 10)
    assert "SIGABRT" in info.value.message


def test_crash_mid_stream_keeps_what_was_delivered(sandbox: RunnerFactory) -> None:
    """A connector dying mid-fetch delivers every record before the crash, then WF402."""
    r = sandbox(CONNECTOR, kind="connector")
    got = []
    with pytest.raises(WorkerCrashed) as info:
        for item in r.stream("fetch", [None], 10):
            got.append(item)
    assert "status 9" in info.value.message
    assert [x.id for x in got if isinstance(x, Record)] == [str(i) for i in range(10)]


SLOW_ACK = """
class P(ConnectorPlugin):
    def fetch(self, state):
        self.ctx.log.warning("last words")
        for i in range(10):
            yield Record(id=str(i), source="c")
        yield Checkpoint(state={"at": 10})
        os._exit(9)
"""


class _Stall(logging.Handler):
    """Holds the host on the plugin's log line until the worker has exited."""

    def emit(self, record: logging.LogRecord) -> None:
        if "last words" in record.getMessage():
            time.sleep(1.0)


def test_records_delivered_before_a_crash_survive_a_failed_acknowledgement(
    sandbox: RunnerFactory,
) -> None:
    """The host reaches a chunk only after the worker died (acknowledging it fails): the
    chunk's records are still delivered, then WF402 (the race behind a flaky test)."""
    stall = _Stall()
    logger = logging.getLogger("wiseflow.plugin.victim")
    logger.addHandler(stall)
    try:
        r = sandbox(SLOW_ACK, kind="connector")
        got = []
        with pytest.raises(WorkerCrashed) as info:
            for item in r.stream("fetch", [None], 10):
                got.append(item)
    finally:
        logger.removeHandler(stall)
    assert "status 9" in info.value.message
    assert [x.id for x in got if isinstance(x, Record)] == [str(i) for i in range(10)]


def test_load_again_restarts_a_crashed_worker(sandbox: RunnerFactory) -> None:
    """After a crash, load() + initialize() start a fresh worker that works."""
    r = sandbox(ATTACKER)
    with pytest.raises(WorkerCrashed):
        r.call("segfault", [], 10)
    r.load()
    r.initialize({})
    assert r.call("process", [[Record(id="x", source="s")]], 10)[0].id == "x"
