"""Attack family: running other programs (a shell, os.system, subprocess, exec)."""

from __future__ import annotations

import errno

import pytest
from sandbox_kit import RunnerFactory

from wiseflow._policy._grants import Effective

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import subprocess

def _try(fn):
    try:
        return {"ok": True, "value": fn()}
    except OSError as exc:
        return {"ok": False, "errno": exc.errno}
    except subprocess.SubprocessError as exc:
        return {"ok": False, "error": str(exc)}

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def system(self, cmd):
        return os.system(cmd)

    def run(self, argv):
        return _try(lambda: subprocess.run(argv, capture_output=True, timeout=5).stdout.decode())

    def popen_shell(self, cmd):
        return _try(lambda: subprocess.check_output(cmd, shell=True).decode())

    def spawn(self, path):
        return _try(lambda: os.waitpid(os.posix_spawn(path, [path], {}), 0)[1])

    def execv(self, path):
        return _try(lambda: os.execv(path, [path, "-c", "echo pwned"]))

    def execveat(self):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        r = libc.syscall(322, -100, b"/bin/sh", None, None, 0)
        return {"r": r, "errno": ctypes.get_errno()}
"""


def test_os_system_cannot_start_a_shell(sandbox: RunnerFactory) -> None:
    """os.system's shell never starts: exec is refused, the command's status is 127."""
    r = sandbox(ATTACKER)
    status = r.call("system", ["echo pwned > /tmp/wiseflow-pwned"], 10)
    assert status != 0
    assert r.call("popen_shell", ["echo pwned"], 10)["ok"] is False


def test_subprocess_and_exec_are_refused(sandbox: RunnerFactory) -> None:
    """subprocess.run, posix_spawn, os.execv and a raw execveat syscall all fail with EPERM."""
    r = sandbox(ATTACKER)
    assert r.call("run", [["/bin/sh", "-c", "echo pwned"]], 10) == {
        "ok": False,
        "errno": errno.EPERM,
    }
    spawned = r.call("spawn", ["/bin/true"], 10)
    assert spawned["ok"] is False or spawned["value"] != 0
    assert r.call("execv", ["/bin/sh"], 10) == {"ok": False, "errno": errno.EPERM}
    assert r.call("execveat", [], 10) == {"r": -1, "errno": errno.EPERM}
    # the worker is still the same process and still serves calls
    assert r.call("process", [[]], 10) == []


def test_granted_subprocess_may_run_system_programs(sandbox: RunnerFactory) -> None:
    """With ``subprocess`` granted, a system program runs (still confined, no network)."""
    r = sandbox(ATTACKER, permissions=Effective(subprocess=True))
    assert r.call("run", [["/bin/echo", "allowed"]], 10) == {"ok": True, "value": "allowed\n"}


def test_strict_level_never_execs_even_when_granted(sandbox: RunnerFactory) -> None:
    """Level strict ignores a ``subprocess`` grant."""
    r = sandbox(ATTACKER, permissions=Effective(subprocess=True), level="strict")
    assert r.call("run", [["/bin/echo", "allowed"]], 10)["ok"] is False
