"""Attack family: ctypes tricks — raw syscalls, regaining privileges, poking memory."""

from __future__ import annotations

import errno
import os

import pytest
from sandbox_kit import RunnerFactory

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import ctypes

libc = ctypes.CDLL(None, use_errno=True)

def _sys(*args):
    r = libc.syscall(*args)
    return {"r": r, "errno": ctypes.get_errno() if r < 0 else 0}

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def setuid_root(self):
        try:
            os.setuid(0)
            return "root"
        except OSError as exc:
            return exc.errno

    def capset_all(self):
        class Hdr(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
        class Data(ctypes.Structure):
            _fields_ = [("e", ctypes.c_uint32), ("p", ctypes.c_uint32), ("i", ctypes.c_uint32)]
        data = (Data * 2)(Data(0xFFFFFFFF, 0xFFFFFFFF, 0), Data(0x1FF, 0x1FF, 0))
        r = libc.capset(ctypes.byref(Hdr(0x20080522, 0)), ctypes.byref(data))
        return {"r": r, "errno": ctypes.get_errno()}

    def host_mem(self, pid):
        try:
            with open(f"/proc/{pid}/mem", "rb") as f:
                return f.read(16).hex()
        except OSError as exc:
            return exc.errno

    def bpf(self):
        return _sys(321, 0, None, 0)

    def io_uring(self):
        buf = ctypes.create_string_buffer(120)
        return _sys(425, 8, buf)

    def userfaultfd(self):
        return _sys(323, 0)

    def keyctl(self):
        return _sys(250, 0, -3, 0)

    def perf(self):
        return _sys(298, None, 0, -1, -1, 0)

    def mount(self):
        return _sys(165, b"none", b"/tmp", b"tmpfs", 0, None)

    def clone_newuser(self):
        return _sys(56, 0x10000000 | 17, 0, 0, 0, 0)

    def clone3(self):
        return _sys(435, None, 0)

    def landlock_info(self):
        return _sys(444, None, 0, 1)
"""


def test_privileges_cannot_be_regained(sandbox: RunnerFactory) -> None:
    """setuid(0) and capset(all) fail: the worker dropped its identity for good."""
    if os.geteuid() != 0:
        pytest.skip("the host does not run as root, so the worker never had root to drop")
    r = sandbox(ATTACKER)
    assert r.call("setuid_root", [], 10) == errno.EPERM
    assert r.call("capset_all", [], 10) == {"r": -1, "errno": errno.EPERM}


def test_host_memory_is_out_of_reach(sandbox: RunnerFactory) -> None:
    """/proc/<host>/mem cannot be opened."""
    r = sandbox(ATTACKER)
    assert r.call("host_mem", [os.getpid()], 10) in (errno.EACCES, errno.EPERM)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("bpf", errno.EPERM),
        ("io_uring", errno.EPERM),
        ("userfaultfd", errno.EPERM),
        ("keyctl", errno.EPERM),
        ("perf", errno.EPERM),
        ("mount", errno.EPERM),
        ("clone_newuser", errno.EPERM),
        ("clone3", errno.ENOSYS),
    ],
)
def test_dangerous_syscalls_are_refused(sandbox: RunnerFactory, call: str, expected: int) -> None:
    """Kernel attack surface (bpf, io_uring, userfaultfd, keyrings, perf, mount, userns)."""
    r = sandbox(ATTACKER)
    assert r.call(call, [], 10) == {"r": -1, "errno": expected}
