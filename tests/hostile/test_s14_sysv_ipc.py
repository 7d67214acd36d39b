"""System V IPC: kernel objects no path rule covers, shared by uid, outliving the worker.

Landlock confines paths and the network namespace sockets; System V shared memory, message
queues and semaphores are neither. They are named by a key or by a small id (0, 1, 2...,
guessable) and checked against the caller's uid alone. Before, a sandboxed plugin could:

- read and write any segment or queue its uid may reach by id: under a non-root host the
  worker has the operator's own uid, so every private (0600) segment of the operator's
  other programs; under a root host, every one left world-readable (0666);
- make segments that outlive the worker (RAM beside ``memory_mb``: nothing counts or frees
  them when the worker ends) and queues through which two plugins talk past the host.

Now the seccomp filter refuses every System V IPC call and the POSIX message queue calls
(EPERM); the host's objects stay untouched and nothing of the worker's is left.

Positive control: the same attacker with seccomp off (``WISEFLOW_SANDBOX_DISABLE``, a
weaker sandbox the operator allowed) reads the host's segment and takes its message, and
leaves a 64 MB segment behind it after it is closed.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_kit import RunnerFactory, without_seccomp
from test_nonroot import NobodyHost, nobody_host

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long, ctypes.c_int]
libc.msgrcv.restype = ctypes.c_ssize_t

def _err():
    return {"ok": False, "errno": ctypes.get_errno()}

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def peek(self, shmid, n):
        addr = libc.shmat(shmid, None, 0o10000)  # SHM_RDONLY
        if addr in (None, ctypes.c_void_p(-1).value):
            return _err()
        data = ctypes.string_at(addr, n)
        libc.shmdt(addr)
        return {"ok": True, "data": data.decode("latin-1")}

    def take(self, msqid):
        buf = ctypes.create_string_buffer(8 + 256)
        n = libc.msgrcv(msqid, buf, 256, 0, 0o4000)  # IPC_NOWAIT
        if n < 0:
            return _err()
        return {"ok": True, "data": buf.raw[8 : 8 + n].decode("latin-1")}

    def hoard(self, key, mb):
        shmid = libc.shmget(key, mb << 20, 0o1000 | 0o666)  # IPC_CREAT
        if shmid < 0:
            return _err()
        addr = libc.shmat(shmid, None, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return _err()
        ctypes.memset(addr, 0x41, mb << 20)  # touched: real memory
        libc.shmdt(addr)
        return {"ok": True, "shmid": shmid}

    def queue(self, key):
        r = libc.msgget(key, 0o1000 | 0o666)
        return {"ok": True, "msqid": r} if r >= 0 else _err()

    def semaphore(self, key):
        r = libc.semget(key, 1, 0o1000 | 0o666)
        return {"ok": True, "semid": r} if r >= 0 else _err()
"""

SECRET = "host-ipc-secret-7f3a"
_IPC_PRIVATE = 0
_IPC_CREAT = 0o1000
_IPC_NOWAIT = 0o4000
_IPC_RMID = 0

_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.shmdt.argtypes = [ctypes.c_void_p]
_libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
_libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_libc.semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
_libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
_libc.msgrcv.argtypes += [ctypes.c_int]
_libc.msgrcv.restype = ctypes.c_ssize_t


def _ok(r: int) -> int:
    if r < 0 or r == ctypes.c_void_p(-1).value:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return r


def _objects(kind: str) -> dict[int, dict[str, int]]:
    """``/proc/sysvipc/<kind>`` (shm, msg, sem): id -> its numeric fields by column name."""
    lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
    head = lines[0].split()
    rows = [dict(zip(head, map(int, ln.split()), strict=False)) for ln in lines[1:]]
    id_col = {"shm": "shmid", "msg": "msqid", "sem": "semid"}[kind]
    return {row[id_col]: row for row in rows}


@pytest.fixture
def host_objects() -> Iterator[tuple[int, int]]:
    """A segment holding :data:`SECRET` and a queue holding it as a message (mode 0666, as
    programs that share them leave them), removed after the test with whatever it left."""
    before = {k: set(_objects(k)) for k in ("shm", "msg", "sem")}
    shmid = _ok(_libc.shmget(_IPC_PRIVATE, 4096, _IPC_CREAT | 0o666))
    addr = _ok(_libc.shmat(shmid, None, 0))
    ctypes.memmove(addr, SECRET.encode(), len(SECRET))
    _libc.shmdt(addr)
    msqid = _ok(_libc.msgget(_IPC_PRIVATE, _IPC_CREAT | 0o666))
    msg = ctypes.create_string_buffer(8 + len(SECRET))
    ctypes.memmove(msg, (1).to_bytes(8, "little") + SECRET.encode(), 8 + len(SECRET))
    _ok(_libc.msgsnd(msqid, msg, len(SECRET), _IPC_NOWAIT))
    try:
        yield shmid, msqid
    finally:
        for sid in set(_objects("shm")) - before["shm"]:
            _libc.shmctl(sid, _IPC_RMID, None)
        for qid in set(_objects("msg")) - before["msg"]:
            _libc.msgctl(qid, _IPC_RMID, None)
        for semid in set(_objects("sem")) - before["sem"]:
            _libc.semctl(semid, 0, _IPC_RMID)


def _segment_text(shmid: int) -> str:
    addr = _ok(_libc.shmat(shmid, None, 0o10000))
    try:
        return ctypes.string_at(addr, len(SECRET)).decode()
    finally:
        _libc.shmdt(addr)


def test_ipc_objects_can_be_neither_reached_nor_made(
    sandbox: RunnerFactory, host_objects: tuple[int, int]
) -> None:
    """Every System V call of the attacker is EPERM; the host's objects are untouched."""
    shmid, msqid = host_objects
    before = {k: set(_objects(k)) for k in ("shm", "msg", "sem")}
    r = sandbox(ATTACKER)
    key = 0x57140000 + os.getpid() % 0xFFFF
    denied = {"ok": False, "errno": errno.EPERM}
    assert r.call("peek", [shmid, len(SECRET)], 10) == denied
    assert r.call("take", [msqid], 10) == denied
    assert r.call("hoard", [key, 64], 10) == denied
    assert r.call("queue", [key], 10) == denied
    assert r.call("semaphore", [key], 10) == denied
    r.close()
    assert {k: set(_objects(k)) for k in ("shm", "msg", "sem")} == before  # nothing left
    assert _segment_text(shmid) == SECRET
    assert _objects("msg")[msqid]["qnum"] == 1  # the host's message is still queued


def test_positive_control_without_seccomp_the_worker_reads_takes_and_leaves_memory(
    sandbox: RunnerFactory, host_objects: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seccomp off: the same calls read the host's secret, take its message, and leave a
    64 MB segment that nothing frees when the worker is gone."""
    shmid, msqid = host_objects
    r = without_seccomp(sandbox, ATTACKER, monkeypatch)
    key = 0x57150000 + os.getpid() % 0xFFFF
    assert r.call("peek", [shmid, len(SECRET)], 10) == {"ok": True, "data": SECRET}
    assert r.call("take", [msqid], 10) == {"ok": True, "data": SECRET}
    hoard = r.call("hoard", [key, 64], 30)
    assert hoard["ok"] is True
    assert r.call("queue", [key], 10)["ok"] is True
    r.close()
    left = _objects("shm")[hoard["shmid"]]
    assert left["size"] == 64 << 20
    assert left["nattch"] == 0  # no process holds it, and nothing removes it
    assert _objects("msg")[msqid]["qnum"] == 0  # the host's message was taken


NOBODY_ATTACK = (
    "ATTACKER = "
    + repr(ATTACKER)
    + """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # private to the operator's uid
addr = libc.shmat(shmid, None, 0)
ctypes.memmove(addr, ARGS.encode(), len(ARGS))
libc.shmdt(addr)
try:
    result = {"full": factory(ATTACKER, name="full").call("peek", [shmid, len(ARGS)], 10)}
    os.environ["WISEFLOW_SANDBOX_DISABLE"] = "seccomp"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        weaker = factory(ATTACKER, name="weaker", allow_weaker_sandbox=True)
    result["no_seccomp"] = weaker.call("peek", [shmid, len(ARGS)], 10)
    del os.environ["WISEFLOW_SANDBOX_DISABLE"]
    result["witness"] = witness()
finally:
    libc.shmctl(shmid, 0, None)
"""
)


@pytest.fixture
def nobody() -> Iterator[NobodyHost]:
    yield from nobody_host()


def test_a_nobody_hosts_worker_cannot_read_the_operators_private_segment(
    nobody: NobodyHost,
) -> None:
    """Under a non-root host the worker has the operator's uid: a 0600 segment of the
    operator's is refused to it (EPERM); with seccomp off (control) it reads it."""
    got = nobody.run(NOBODY_ATTACK, SECRET)
    assert got["full"] == {"ok": False, "errno": errno.EPERM}
    assert got["no_seccomp"] == {"ok": True, "data": SECRET}
    assert got["witness"] is True
