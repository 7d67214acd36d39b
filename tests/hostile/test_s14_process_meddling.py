"""Meddling with the host without a signal: its limits, priority, CPUs, scheduling, I/O.

Under a non-root host a worker has the host's uid, and the kernel lets a process change
these for any process of its uid: ``prlimit`` (the host's RLIMIT_NOFILE down to 64, or its
RLIMIT_CPU to 1 s, which kills it), ``setpriority`` (nice 19), ``sched_setaffinity`` (one
CPU), ``sched_setscheduler`` (SCHED_IDLE) and ``ioprio_set`` (idle I/O). Landlock's scope
covers signals and tracing, not these, and the seccomp filter allowed them: each worked
against the host (and its other workers). ``inotify_add_watch`` also told the worker the
names of files created in folders Landlock kept it from listing.

Now the filter allows these calls on the caller only (pid 0), and refuses the watches: every
attempt on the host or a sibling worker is EPERM, the host's figures are unchanged, and the
same calls on the worker itself still work.

Positive control: with seccomp off, the same calls change the host's limit, nice value,
CPUs and scheduling policy.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest
from test_nonroot import NobodyHost, nobody_host

ATTACKER = '''
ATTACKER = """
import ctypes, resource

libc = ctypes.CDLL(None, use_errno=True)

def _t(fn):
    try:
        fn()
        return "ok"
    except OSError as exc:
        return exc.errno

def _ioprio(pid):
    r = libc.syscall(251, 1, pid, (3 << 13) | 7)  # ioprio_set(WHO_PROCESS, pid, IDLE)
    return "ok" if r == 0 else ctypes.get_errno()

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def meddle(self, pid, cpu):
        return {
            "prlimit": _t(lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE, (64, 64))),
            "nice": _t(lambda: os.setpriority(os.PRIO_PROCESS, pid, 19)),
            "affinity": _t(lambda: os.sched_setaffinity(pid, {cpu})),
            "idle": _t(lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))),
            "ioprio": _ioprio(pid),
        }

    def watch(self, path):
        fd = libc.inotify_init1(0)
        wd = libc.inotify_add_watch(fd, path.encode(), 0x100)  # IN_CREATE
        return "ok" if wd >= 0 else ctypes.get_errno()

    def own(self, cpu):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        return {
            "setrlimit": _t(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft - 1, hard))),
            "nice": _t(lambda: os.nice(1)),
            "affinity": _t(lambda: os.sched_setaffinity(0, {cpu})),
            "ioprio": _ioprio(0),
        }
"""

import resource

def host_figures():
    return {
        "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "cpus": sorted(os.sched_getaffinity(0)),
        "policy": os.sched_getscheduler(0),
    }

CPU = min(os.sched_getaffinity(0))
(HOST_ROOT / "watched").mkdir(exist_ok=True)
'''

_CONFINED = """
before = host_figures()
r = factory(ATTACKER, name="meddler")
twin = factory(ATTACKER, name="twin")
result = {
    "host": r.call("meddle", [os.getpid(), CPU], 10),
    "twin": r.call("meddle", [twin.pid(), CPU], 10),
    "watch": r.call("watch", [str(HOST_ROOT / "watched")], 10),
    "own": r.call("own", [CPU], 10),
    "unchanged": host_figures() == before,
    "witness": witness(),
}
"""

_CONTROL = """
before = host_figures()
os.environ["WISEFLOW_SANDBOX_DISABLE"] = "seccomp"
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    r = factory(ATTACKER, name="meddler", allow_weaker_sandbox=True)
result = {
    "host": r.call("meddle", [os.getpid(), CPU], 10),
    "watch": r.call("watch", [str(HOST_ROOT / "watched")], 10),
    "before": before,
    "after": host_figures(),
}
"""


@pytest.fixture
def nobody() -> Iterator[NobodyHost]:
    yield from nobody_host()


def test_the_host_and_its_workers_are_out_of_reach(nobody: NobodyHost) -> None:
    got = nobody.run(ATTACKER + _CONFINED)
    denied = dict.fromkeys(("prlimit", "nice", "affinity", "idle", "ioprio"), errno.EPERM)
    assert got["host"] == denied
    assert got["twin"] == denied
    assert got["watch"] == errno.EPERM
    assert got["unchanged"] is True
    assert got["own"] == {"setrlimit": "ok", "nice": "ok", "affinity": "ok", "ioprio": "ok"}
    assert got["witness"] is True


def test_positive_control_without_seccomp_the_worker_reshapes_its_host(
    nobody: NobodyHost,
) -> None:
    got = nobody.run(ATTACKER + _CONTROL)
    assert set(got["host"].values()) == {"ok"}
    assert got["watch"] == "ok"
    after, before = got["after"], got["before"]
    assert after["nofile"] == [64, 64] != before["nofile"]
    assert after["nice"] == 19 != before["nice"]
    assert len(after["cpus"]) == 1
    assert after["policy"] == 5  # SCHED_IDLE
