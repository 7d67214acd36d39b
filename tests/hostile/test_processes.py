"""Attack family: other processes — the host (signals, ptrace, memory), and our own swarm."""

from __future__ import annotations

import errno
import os
import signal
import time

import pytest
from sandbox_kit import RunnerFactory, group_members

from wiseflow import WorkerCrashed

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import ctypes, signal, threading

libc = ctypes.CDLL(None, use_errno=True)

def _try(fn):
    try:
        return {"ok": True, "value": fn()}
    except OSError as exc:
        return {"ok": False, "errno": exc.errno}

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def kill(self, pid, sig):
        return _try(lambda: os.kill(pid, sig))

    def killpg(self, pgid, sig):
        return _try(lambda: os.killpg(pgid, sig))

    def ptrace(self, pid):
        r = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        return {"r": r, "errno": ctypes.get_errno()}

    def vm_read(self, pid):
        r = libc.syscall(310, pid, None, 0, None, 0, 0)  # process_vm_readv
        return {"r": r, "errno": ctypes.get_errno()}

    def unshare_user(self):
        r = libc.syscall(272, 0x10000000)
        return {"r": r, "errno": ctypes.get_errno()}

    def setsid(self):
        return _try(os.setsid)

    def fork_bomb(self, limit):
        children = []
        try:
            while len(children) < limit:
                pid = os.fork()
                if pid == 0:
                    time.sleep(120)
                    os._exit(0)
                children.append(pid)
        except OSError as exc:
            return {"forked": len(children), "errno": exc.errno, "pgid": os.getpgid(0)}
        return {"forked": len(children), "errno": 0, "pgid": os.getpgid(0)}

    def escape_group(self):
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
            except OSError:
                try:
                    os.setpgid(0, 0)
                except OSError:
                    pass
            time.sleep(120)
            os._exit(0)
        return pid

    def thread_bomb(self, limit):
        ev = threading.Event()
        n = 0
        try:
            while n < limit:
                threading.Thread(target=ev.wait, daemon=True).start()
                n += 1
        except RuntimeError:
            pass
        ev.set()
        return n

    def x32(self):
        return libc.syscall(0x40000000 | 39)  # getpid via the x32 ABI
"""


def test_signals_to_the_host_are_refused(sandbox: RunnerFactory) -> None:
    """The plugin cannot signal the host process or its process group."""
    r = sandbox(ATTACKER)
    host = os.getpid()
    assert r.call("kill", [host, int(signal.SIGTERM)], 10) == {"ok": False, "errno": errno.EPERM}
    assert r.call("kill", [host, 0], 10)["ok"] is False
    assert r.call("killpg", [os.getpgid(0), int(signal.SIGKILL)], 10)["ok"] is False
    assert r.call("kill", [1, int(signal.SIGTERM)], 10)["ok"] is False


def test_ptrace_and_memory_reads_of_the_host_fail(sandbox: RunnerFactory) -> None:
    """PTRACE_ATTACH and process_vm_readv against the host are refused."""
    r = sandbox(ATTACKER)
    assert r.call("ptrace", [os.getpid()], 10) == {"r": -1, "errno": errno.EPERM}
    assert r.call("vm_read", [os.getpid()], 10) == {"r": -1, "errno": errno.EPERM}


def test_new_namespaces_and_new_sessions_are_refused(sandbox: RunnerFactory) -> None:
    """unshare(CLONE_NEWUSER) and setsid() (to leave the worker's group) both fail."""
    r = sandbox(ATTACKER)
    assert r.call("unshare_user", [], 10) == {"r": -1, "errno": errno.EPERM}
    assert r.call("setsid", [], 10)["ok"] is False


def test_fork_bomb_hits_the_process_limit_and_dies_with_the_worker(
    sandbox: RunnerFactory,
) -> None:
    """Forking stops at the per-plugin process limit; close() kills every child."""
    r = sandbox(ATTACKER, max_procs=16)
    out = r.call("fork_bomb", [500], 20)
    assert out["forked"] < 16
    assert out["errno"] == errno.EAGAIN
    pgid = out["pgid"]
    assert len(group_members(pgid)) > 1
    r.close()
    deadline = time.monotonic() + 30  # generous: only a failure waits it out (busy machine)
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(pgid) == []


def test_grandchild_cannot_escape_the_process_group(sandbox: RunnerFactory) -> None:
    """A child that tries to leave the worker's group still dies when the worker stops."""
    r = sandbox(ATTACKER)
    child = r.call("escape_group", [], 10)
    pgid = r.pid()
    assert pgid is not None
    assert os.getpgid(child) == pgid
    r.close()
    deadline = time.monotonic() + 30  # generous: only a failure waits it out
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(pgid) == []


def test_thread_bomb_is_bounded(sandbox: RunnerFactory) -> None:
    """Starting threads stops at the process limit; the worker keeps serving."""
    r = sandbox(ATTACKER, max_procs=32)
    assert r.call("thread_bomb", [10_000], 20) < 32
    assert r.call("process", [[]], 10) == []


def test_foreign_syscall_abi_kills_the_worker(sandbox: RunnerFactory) -> None:
    """An x32-ABI syscall (a classic filter bypass) kills the worker: WF402, SIGSYS."""
    r = sandbox(ATTACKER)
    with pytest.raises(WorkerCrashed) as info:
        r.call("x32", [], 10)
    assert info.value.code == "WF402"
    assert "SIGSYS" in info.value.message
