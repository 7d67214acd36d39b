"""Children handed to the host: ``clone(CLONE_PARENT)`` from a sandboxed worker.

A worker is the host's child (the zygote forks it with ``CLONE_PARENT``). The seccomp
filter refused ``clone`` with a namespace flag, not ``CLONE_PARENT``: a plugin calling
``clone(CLONE_PARENT | SIGCHLD)`` made children whose parent is the host. Each one that
exits is a zombie of the host, which never reaps a pid it did not start: they stayed for the
host's lifetime (each holding a pid and counting against the plugin uid's process limit, so
that the plugin, restarted or not, could fork no more), and an embedding program's
``os.wait()`` or SIGCHLD handler was handed processes it never made.

Now ``clone`` with ``CLONE_PARENT`` is EPERM; an ordinary fork still works.

Positive control: the same attacker with seccomp off leaves its children as zombies of
this (the host's) process after the worker is closed.
"""

from __future__ import annotations

import errno
import os
import time

import pytest
from sandbox_kit import RunnerFactory, proc_stats, without_seccomp

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def sprout(self, n):
        made, errs = [], {}
        for _ in range(n):
            pid = libc.syscall(56, 0x8000 | 17, 0, 0, 0, 0)  # clone(CLONE_PARENT | SIGCHLD)
            if pid == 0:
                os._exit(0)
            if pid < 0:
                e = ctypes.get_errno()
                errs[e] = errs.get(e, 0) + 1
            else:
                made.append(pid)
        return {"made": made, "errs": errs}

    def fork(self):
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
"""


def _my_children(state: str) -> set[int]:
    """Pids whose parent is this process, in ``state`` (``Z``: zombies)."""
    me = os.getpid()
    return {pid for pid, f in proc_stats() if int(f[1]) == me and f[0] == state}


def test_clone_parent_is_refused_and_the_host_holds_no_zombie(sandbox: RunnerFactory) -> None:
    before = _my_children("Z")
    r = sandbox(ATTACKER)
    assert r.call("sprout", [50], 30) == {"made": [], "errs": {errno.EPERM: 50}}
    assert r.call("fork", [], 10) == 7  # an ordinary fork (and its reaping) still works
    r.close()
    assert _my_children("Z") - before == set()


def test_positive_control_without_seccomp_the_host_keeps_the_plugins_zombies(
    sandbox: RunnerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = without_seccomp(sandbox, ATTACKER, monkeypatch)
    got = r.call("sprout", [50], 30)
    made = set(got["made"])
    try:
        assert made  # up to the plugin uid's process limit
        r.close()
        deadline = time.monotonic() + 30  # each child exits at once; wait for its zombie
        while not made <= _my_children("Z") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert made <= _my_children("Z")  # the host's zombies, after the worker is gone
    finally:
        for pid in made:  # reap them by pid (never -1: the runners' workers are ours too)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
