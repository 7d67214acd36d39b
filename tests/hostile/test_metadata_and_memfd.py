"""Attack family: file metadata writes Landlock does not cover, and memory beside RLIMIT_AS."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from sandbox_kit import RunnerFactory

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def setxattr(self, path):
        try:
            os.setxattr(path, "user.pwn", b"x")
            return {"ok": True}
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}

    def touch(self, path):
        try:
            os.utime(path)
            return {"ok": True}
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}

    def memfd(self, mb):
        try:
            fd = os.memfd_create("hoard")
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}
        os.ftruncate(fd, mb << 20)
        return {"ok": True}
"""


def test_metadata_of_files_outside_the_grant_cannot_be_written(
    sandbox: RunnerFactory, tmp_path: Path
) -> None:
    """Setting xattrs or times on a file the plugin may not write is refused (EPERM)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    os.utime(victim, (1_000_000, 1_000_000))
    r = sandbox(ATTACKER)
    assert r.call("setxattr", [str(victim)], 10) == {"ok": False, "errno": errno.EPERM}
    assert r.call("touch", [str(victim)], 10) == {"ok": False, "errno": errno.EPERM}
    assert victim.stat().st_mtime == 1_000_000
    assert os.listxattr(victim) == []


def test_memfd_cannot_hoard_memory_beside_the_quota(sandbox: RunnerFactory) -> None:
    """Anonymous memory files (not counted by RLIMIT_AS) cannot be created."""
    r = sandbox(ATTACKER)
    assert r.call("memfd", [512], 10) == {"ok": False, "errno": errno.EPERM}
