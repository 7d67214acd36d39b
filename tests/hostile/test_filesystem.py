"""Attack family: reading and writing files outside what the plugin was granted."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from sandbox_kit import RunnerFactory

from wiseflow import PermissionDenied
from wiseflow._policy._grants import Effective

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def read(self, path):
        try:
            with open(path, "rb") as f:
                return {"ok": True, "data": f.read(200).decode("latin-1")}
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}

    def listdir(self, path):
        try:
            return {"ok": True, "names": sorted(os.listdir(path))[:20]}
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}

    def write(self, path):
        try:
            with open(path, "w") as f:
                f.write("pwned")
            return {"ok": True}
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}

    def symlink_read(self, target):
        link = os.path.join(self.ctx.data_dir, "link")
        if not os.path.islink(link):
            os.symlink(target, link)
        return self.read(link)

    def hardlink(self, target):
        try:
            os.link(target, os.path.join(self.ctx.data_dir, "hard"))
            return {"ok": True}
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}

    def via_ctx(self, path):
        return self.ctx.read_path(path).decode()
"""

DENIED = (errno.EACCES, errno.EPERM)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "outside" / "secret.txt"
    p.parent.mkdir()
    p.write_text("TOP-SECRET")
    return p


def test_host_environ_via_proc_is_unreadable(sandbox: RunnerFactory) -> None:
    """/proc/<host pid>/environ (where the host's secrets live) cannot be read."""
    os.environ["WISEFLOW_TEST_CANARY"] = "canary-value"
    try:
        r = sandbox(ATTACKER)
        out = r.call("read", [f"/proc/{os.getpid()}/environ"], 10)
        assert out == {"ok": False, "errno": errno.EACCES}
        assert r.call("read", ["/proc/self/environ"], 10)["ok"] is False
    finally:
        del os.environ["WISEFLOW_TEST_CANARY"]


def test_worker_environment_holds_no_host_secret(sandbox: RunnerFactory) -> None:
    """The worker starts with a clean environment: nothing of the host's leaks in."""
    os.environ["WISEFLOW_TEST_CANARY"] = "canary-value"
    try:
        r = sandbox(ATTACKER + "\n    def env(self):\n        return dict(os.environ)\n")
        env = r.call("env", [], 10)
        assert "WISEFLOW_TEST_CANARY" not in env
        assert set(env) <= {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "LC_CTYPE"}
    finally:
        del os.environ["WISEFLOW_TEST_CANARY"]


def test_read_outside_roots_is_denied(sandbox: RunnerFactory, secret_file: Path) -> None:
    """A file outside the granted roots, /etc/shadow and /root cannot be read or listed."""
    r = sandbox(ATTACKER)
    assert r.call("read", [str(secret_file)], 10)["errno"] in DENIED
    assert r.call("read", ["/etc/shadow"], 10)["errno"] in DENIED
    assert r.call("read", ["/etc/passwd"], 10)["errno"] in DENIED
    assert r.call("listdir", ["/"], 10)["errno"] in DENIED
    assert r.call("listdir", [str(secret_file.parent)], 10)["errno"] in DENIED


def test_dotdot_from_data_dir_is_denied(sandbox: RunnerFactory, secret_file: Path) -> None:
    """``data_dir/../../outside/secret.txt`` is still outside: the kernel checks the inode."""
    r = sandbox(ATTACKER)
    data_dir = Path(r.spec.data_dir)
    rel = os.path.relpath(secret_file, data_dir)
    assert rel.startswith("..")
    assert r.call("read", [str(data_dir / rel)], 10)["errno"] in DENIED


def test_symlink_to_outside_is_denied(sandbox: RunnerFactory, secret_file: Path) -> None:
    """A symlink the plugin plants in its data dir does not lead outside it."""
    r = sandbox(ATTACKER)
    out = r.call("symlink_read", [str(secret_file)], 10)
    assert out["ok"] is False
    assert out["errno"] in DENIED
    out = r.call("hardlink", [str(secret_file)], 10)
    assert out["ok"] is False


def test_write_outside_data_dir_is_denied(
    sandbox: RunnerFactory, secret_file: Path, tmp_path: Path
) -> None:
    """Writes land only in the data dir: not next to the host's files, not in its own code."""
    r = sandbox(ATTACKER)
    assert r.call("write", [str(secret_file)], 10)["errno"] in DENIED
    assert secret_file.read_text() == "TOP-SECRET"
    assert r.call("write", [str(tmp_path / "new.txt")], 10)["errno"] in DENIED
    assert not (tmp_path / "new.txt").exists()
    code = tmp_path / "plugins" / "victim" / "plugin.py"
    assert r.call("write", [str(code)], 10)["errno"] in DENIED
    assert r.call("write", ["/tmp/wiseflow-pwned"], 10)["errno"] in DENIED
    assert not os.path.exists("/tmp/wiseflow-pwned")
    # ... while its own data dir works
    assert r.call("write", [str(Path(r.spec.data_dir) / "ok.txt")], 10) == {"ok": True}
    assert (Path(r.spec.data_dir) / "ok.txt").read_text() == "pwned"


def test_granted_root_is_readable_and_nothing_else(
    sandbox: RunnerFactory, tmp_path: Path, secret_file: Path
) -> None:
    """fs_read grants exactly its root: readable through ctx and directly, siblings not."""
    granted = tmp_path / "granted"
    granted.mkdir()
    (granted / "a.txt").write_text("hello")
    r = sandbox(ATTACKER, permissions=Effective(fs_read=(str(granted),)))
    assert r.call("via_ctx", [str(granted / "a.txt")], 10) == "hello"
    assert r.call("read", [str(granted / "a.txt")], 10)["ok"] is True
    with pytest.raises(PermissionDenied) as info:
        r.call("via_ctx", [str(secret_file)], 10)
    assert info.value.code == "WF301"
    assert r.call("read", [str(secret_file)], 10)["errno"] in DENIED
    # ``..`` out of the granted root is caught by the broker and by the kernel
    escape = str(granted / ".." / "outside" / "secret.txt")
    with pytest.raises(PermissionDenied):
        r.call("via_ctx", [escape], 10)
    assert r.call("read", [escape], 10)["errno"] in DENIED


def test_worker_inherits_no_host_descriptor(sandbox: RunnerFactory, tmp_path: Path) -> None:
    """The worker holds stdin/stdout/stderr and its channel, nothing the host had open."""
    held = open(tmp_path / "host-file.txt", "w")  # the host holds a file open meanwhile
    try:
        code = ATTACKER + (
            "\n    def fds(self):\n"
            "        out = []\n"
            "        for fd in range(1024):\n"
            "            try:\n"
            "                os.fstat(fd)\n"
            "            except OSError:\n"
            "                continue\n"
            "            out.append(fd)\n"
            "        return out\n"
        )
        r = sandbox(code)
        fds = r.call("fds", [], 10)
        assert fds[:3] == [0, 1, 2]
        assert len(fds) == 5, (
            fds
        )  # + the channel to the host (the pipe it reads, the one it writes)
    finally:
        held.close()


def test_other_plugins_data_is_out_of_reach(sandbox: RunnerFactory, tmp_path: Path) -> None:
    """One plugin cannot read or write another plugin's data dir or scratch dir."""
    other = sandbox(ATTACKER, name="other")
    assert other.call("write", [str(tmp_path / "data" / "other" / "mine.txt")], 10)["ok"]
    r = sandbox(ATTACKER)
    assert r.call("read", [str(tmp_path / "data" / "other" / "mine.txt")], 10)["errno"] in DENIED
    assert r.call("write", [str(tmp_path / "data" / "other" / "x.txt")], 10)["errno"] in DENIED
    scratch = other._scratch  # noqa: SLF001 - the other worker's private tmp dir
    assert scratch is not None
    assert r.call("listdir", [scratch], 10)["errno"] in DENIED
