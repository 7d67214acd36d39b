"""Starting, crashing and stopping workers over and over leaks nothing in the host."""

from __future__ import annotations

import os

import pytest
from sandbox_kit import RunnerFactory

from wiseflow import PluginTimeout, WorkerCrashed

PLUGIN = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def crash(self):
        os._exit(7)

    def hang(self):
        time.sleep(60)
"""


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _children() -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                        out.add(int(entry))
            except OSError:
                pass
    return out


def _cycles(sandbox: RunnerFactory, n: int) -> None:
    r = sandbox(PLUGIN)
    for i in range(n):
        if i % 3 == 0:
            with pytest.raises(WorkerCrashed):
                r.call("crash", [], 10)
        elif i % 3 == 1:
            with pytest.raises(PluginTimeout):
                r.call("hang", [], 0.05)
        else:
            r.close()
        r.load()
        r.initialize({})
        assert r.call("process", [[]], 10) == []
    r.close()


def test_crash_restart_cycles_leak_no_fd_and_no_zombie(sandbox: RunnerFactory) -> None:
    """Ten crash/timeout/close cycles: same fds, no child process left (zombie or alive)."""
    _cycles(sandbox, 1)  # the zygote (a long-lived child) starts here
    fds, children = _fds(), _children()
    _cycles(sandbox, 10)
    assert _fds() == fds
    assert _children() == children


@pytest.mark.slow
def test_many_cycles_soak(sandbox: RunnerFactory) -> None:
    """Three hundred cycles: still no leak."""
    _cycles(sandbox, 1)
    fds, children = _fds(), _children()
    _cycles(sandbox, 300)
    assert _fds() == fds
    assert _children() == children
