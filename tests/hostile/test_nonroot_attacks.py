"""Attack families again, with the host running as an ordinary user (uid 65534).

The worker's private network namespace comes from a user namespace here, and the worker
has the host's own uid: only Landlock and seccomp stand between it and the host's files,
signals and memory. Each test runs a real host script as nobody (see
``tests/sandbox/test_nonroot.py`` for the harness) and checks that every attack failed,
that the host kept working (a fresh plugin still answers), and the error codes.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest
from test_nonroot import NobodyHost, nobody_host


@pytest.fixture
def nobody() -> Iterator[NobodyHost]:
    """A host running as uid 65534."""
    yield from nobody_host()


ATTACKER = '''
ATTACKER = """
import ctypes, socket, subprocess

libc = ctypes.CDLL(None, use_errno=True)

def _try(fn):
    try:
        return {"ok": True, "value": fn()}
    except OSError as exc:
        return {"ok": False, "errno": exc.errno}

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def tcp(self, port):
        def go():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(("127.0.0.1", port))
            s.sendall(b"stolen")
            return "connected"
        return _try(go)

    def read(self, path):
        return _try(lambda: open(path).read())

    def listdir(self, path):
        return _try(lambda: os.listdir(path))

    def system(self, cmd):
        return os.system(cmd)

    def run(self, argv):
        return _try(lambda: subprocess.run(argv, capture_output=True, timeout=5).returncode)

    def execv(self, path):
        return _try(lambda: os.execv(path, [path, "-c", "echo pwned"]))

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

    def memory_bomb(self):
        hog = []
        while True:
            hog.append(bytearray(8 * 1024 * 1024))
"""
'''


_NETWORK = """
port = ARGS
probe_conn = socket.create_connection(("127.0.0.1", port), timeout=2)  # the host can
probe_conn.sendall(b"host")
probe_conn.close()
full = factory(ATTACKER, name="full")
result = {"full": full.call("tcp", [port], 10)}
# only the network namespace left: seccomp and Landlock off, as on a weaker machine
os.environ["WISEFLOW_SANDBOX_DISABLE"] = "seccomp,landlock"
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    netns_only = factory(ATTACKER, name="netns-only", allow_weaker_sandbox=True)
result["netns_only"] = netns_only.call("tcp", [port], 10)
result["netns_only_applied"] = netns_only.confinement.applied
del os.environ["WISEFLOW_SANDBOX_DISABLE"]
result["witness"] = witness()
"""


def test_tcp_to_a_loopback_server_fails_for_a_nobody_host(
    nobody: NobodyHost, tcp_server: tuple[int, list[bytes]]
) -> None:
    """The plugin cannot reach a 127.0.0.1 service its nobody host can: seccomp, then netns."""
    port, seen = tcp_server
    got = nobody.run(ATTACKER + _NETWORK, port)
    assert got["full"] == {"ok": False, "errno": errno.EPERM}  # socket() refused
    # with no seccomp and no Landlock the socket is made, but the private namespace has
    # no route to the host's loopback
    assert "userns" in got["netns_only_applied"] and "netns" in got["netns_only_applied"]
    assert got["netns_only"]["ok"] is False
    assert got["netns_only"]["errno"] in (errno.ENETUNREACH, errno.ECONNREFUSED)
    assert seen == [b"host"]  # only the host's own connection arrived
    assert got["witness"] is True


_FILES = """
outside = HOST_ROOT / "outside"
outside.mkdir()
(outside / "secret.txt").write_text("TOP-SECRET")
granted = HOST_ROOT / "granted"
granted.mkdir()
(granted / "ok.txt").write_text("fine")
assert (outside / "secret.txt").read_text() == "TOP-SECRET"  # the host itself can read it
r = factory(ATTACKER, permissions=Effective(fs_read=(str(granted),)))
data_dir = Path(r.spec.data_dir)
secret = outside / "secret.txt"
result = {
    "granted": r.call("read", [str(granted / "ok.txt")], 10),
    "secret": r.call("read", [str(outside / "secret.txt")], 10),
    "dotdot": r.call("read", [str(data_dir / os.path.relpath(secret, data_dir))], 10),
    "passwd": r.call("read", ["/etc/passwd"], 10),
    "host_environ": r.call("read", [f"/proc/{os.getpid()}/environ"], 10),
    "root_dir": r.call("listdir", ["/"], 10),
    "host_root": r.call("listdir", [str(HOST_ROOT)], 10),
    "witness": witness(),
}
"""


def test_reads_outside_granted_roots_fail_for_a_nobody_host(nobody: NobodyHost) -> None:
    """Files the nobody host may read stay unreadable to its plugin unless granted."""
    got = nobody.run(ATTACKER + _FILES)
    assert got.pop("granted") == {"ok": True, "value": "fine"}
    assert got.pop("witness") is True
    for what, out in got.items():
        assert out == {"ok": False, "errno": errno.EACCES}, what


_EXEC = """
r = factory(ATTACKER)
result = {
    "system": r.call("system", ["echo pwned > " + str(HOST_ROOT / "pwned")], 10),
    "run": r.call("run", [["/bin/true"]], 10),
    "execv": r.call("execv", ["/bin/sh"], 10),
    "pwned": (HOST_ROOT / "pwned").exists(),
}
granted = factory(ATTACKER, name="granted", permissions=Effective(subprocess=True))
result["granted"] = granted.call("run", [["/bin/true"]], 10)
result["witness"] = witness()
"""


def test_exec_fails_for_a_nobody_host(nobody: NobodyHost) -> None:
    """No shell, no subprocess, no exec from a plugin of a nobody host, unless granted."""
    got = nobody.run(ATTACKER + _EXEC)
    assert got["system"] != 0
    assert got["run"] == {"ok": False, "errno": errno.EPERM}
    assert got["execv"] == {"ok": False, "errno": errno.EPERM}
    assert got["pwned"] is False
    # a granted subprocess runs inside the worker's user namespace (exec keeps working there)
    assert got["granted"] == {"ok": True, "value": 0}
    assert got["witness"] is True


_SIGNALS = """
r = factory(ATTACKER)
host = os.getpid()
result = {
    "term": r.call("kill", [host, int(signal.SIGTERM)], 10),
    "probe": r.call("kill", [host, 0], 10),
    "group": r.call("killpg", [os.getpgid(0), int(signal.SIGKILL)], 10),
    "ptrace": r.call("ptrace", [host], 10),
    "vm_read": r.call("vm_read", [host], 10),
    "unshare": r.call("unshare_user", [], 10),
    "witness": witness(),
}
"""


def test_signals_and_tracing_of_a_nobody_host_fail(nobody: NobodyHost) -> None:
    """Same uid as its host, the plugin still cannot signal, trace or read it, nor unshare."""
    got = nobody.run(ATTACKER + _SIGNALS)
    for what in ("term", "probe", "group"):
        assert got[what] == {"ok": False, "errno": errno.EPERM}, what
    for what in ("ptrace", "vm_read", "unshare"):
        assert got[what] == {"r": -1, "errno": errno.EPERM}, what
    assert got["witness"] is True  # and the host is alive to run it


_MEMORY = """
r = factory(ATTACKER, memory_mb=160)
result = {
    "bomb": attempt(lambda: r.call("memory_bomb", [], 30)),
    "after": r.call("process", [[]], 10),
    "witness": witness(),
}
"""


def test_memory_bomb_is_wf403_for_a_nobody_host(nobody: NobodyHost) -> None:
    """A memory bomb under a nobody host is WF403; the worker and the host serve on."""
    got = nobody.run(ATTACKER + _MEMORY)
    assert got["bomb"]["ok"] is False
    assert got["bomb"]["code"] == "WF403"
    assert "160" in got["bomb"]["message"]
    assert got["after"] == []
    assert got["witness"] is True
