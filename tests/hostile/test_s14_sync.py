"""Attack: a worker calling ``sync()`` or ``syncfs()`` in a loop. Each call flushes every
dirty page of the machine (``syncfs``: of a whole file system), so a loop of them stalls
the host's store commits and every other process's writes, a cost no quota of the
plugin's counts. The seccomp filter refuses both (EPERM); flushing the plugin's own files
(``fsync``, ``fdatasync``) still works. Control: with seccomp off (a weaker sandbox the
operator allowed) both calls go through.
"""

from __future__ import annotations

import errno

import pytest
from sandbox_kit import RunnerFactory, without_seccomp

from wiseflow._sandbox._sys import NR

pytestmark = pytest.mark.usefixtures("host_survives")

FLUSHER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def flush(self, how, nr_sync=0):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            if how == "sync":  # sync(2) itself: libc's wrapper (and os.sync) return nothing
                if libc.syscall(nr_sync) != 0:
                    return ctypes.get_errno()
            elif how == "syncfs":
                fd = os.open(self.ctx.data_dir, os.O_RDONLY)
                try:
                    if libc.syncfs(fd) != 0:
                        return ctypes.get_errno()
                finally:
                    os.close(fd)
            else:  # its own file
                path = os.path.join(self.ctx.data_dir, "f")
                with open(path, "w") as f:
                    f.write("x")
                    f.flush()
                    os.fsync(f.fileno())
                    os.fdatasync(f.fileno())
            return 0
        except OSError as exc:
            return exc.errno
"""


def test_machine_wide_flushes_are_refused_own_files_still_flush(sandbox: RunnerFactory) -> None:
    r = sandbox(FLUSHER)
    assert r.call("flush", ["sync", NR["sync"]], 10) == errno.EPERM
    assert r.call("flush", ["syncfs"], 10) == errno.EPERM
    assert r.call("flush", ["own"], 10) == 0


def test_positive_control_without_seccomp_both_flushes_go_through(
    sandbox: RunnerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = without_seccomp(sandbox, FLUSHER, monkeypatch)
    assert r.call("flush", ["sync", NR["sync"]], 30) == 0
    assert r.call("flush", ["syncfs"], 30) == 0
