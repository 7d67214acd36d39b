"""Signals by proxy: a worker naming the host as the owner of its descriptors (``F_SETOWN``).

``fcntl(fd, F_SETOWN, host_pid)`` with ``O_ASYNC`` asks the kernel to signal the host each
time I/O becomes possible on ``fd``, and ``F_SETSIG`` picks the signal: SIGKILL included.
The worker holds the ends of its channel and of its output pipe, which the host writes and
reads at every call, so the kernel itself would send the signal, with no ``kill`` call for
seccomp to see. The uid check stops it under a root host (the worker runs as another uid);
under a non-root host the worker has the host's uid and only Landlock's signal scope (ABI
6) stands in the way. The worker's ``fcntl`` calls succeed; no signal ever reaches the host.

Positive control: the same worker with Landlock off delivers SIGUSR1 to the host through the
same descriptors.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_nonroot import NobodyHost, nobody_host

ATTACKER = '''
ATTACKER = """
import fcntl

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def own(self, pid, sig):
        out = {}
        for fd in range(0, 5):  # stdin/out/err, the channel's two ends
            try:
                fcntl.fcntl(fd, fcntl.F_SETOWN, pid)
                fcntl.fcntl(fd, 10, sig)  # F_SETSIG
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
                out[fd] = "ok"
            except OSError as exc:
                out[fd] = exc.errno
        return out

    def chatter(self, n):
        for _ in range(n):
            print("x" * 100, flush=True)
        return n
"""

import threading

def exercise(r):
    for _ in range(5):  # frames both ways and output lines: I/O on every descriptor
        r.call("process", [[Record(id="a", source="s")]], 10)
        r.call("chatter", [20], 10)

got = threading.Event()
signal.signal(signal.SIGUSR1, lambda *_: got.set())
'''

_CONFINED = """
killer = factory(ATTACKER, name="killer")
result = {"kill_owned": killer.call("own", [os.getpid(), int(signal.SIGKILL)], 10)}
exercise(killer)
usr1 = factory(ATTACKER, name="usr1")
result["usr1_owned"] = usr1.call("own", [os.getpid(), int(signal.SIGUSR1)], 10)
exercise(usr1)
result["after"] = killer.call("process", [[]], 10)
result["signalled"] = got.is_set()  # any signal raised in the host's own writes is in by now
result["witness"] = witness()
"""

_CONTROL = """
os.environ["WISEFLOW_SANDBOX_DISABLE"] = "landlock"
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    weak = factory(ATTACKER, name="weak", allow_weaker_sandbox=True)
result = {"owned": weak.call("own", [os.getpid(), int(signal.SIGUSR1)], 10)}
exercise(weak)
result["signalled"] = got.wait(30)
"""


@pytest.fixture
def nobody() -> Iterator[NobodyHost]:
    yield from nobody_host()


def test_descriptors_owned_by_the_host_never_signal_it(nobody: NobodyHost) -> None:
    got = nobody.run(ATTACKER + _CONFINED)
    assert set(got["kill_owned"].values()) == {"ok"}  # the kernel took the requests...
    assert set(got["usr1_owned"].values()) == {"ok"}
    assert got["signalled"] is False  # ...and delivered nothing
    assert got["after"] == []  # the host, alive, still serves the attacker
    assert got["witness"] is True


def test_positive_control_without_landlock_the_host_is_signalled(nobody: NobodyHost) -> None:
    got = nobody.run(ATTACKER + _CONTROL)
    assert set(got["owned"].values()) == {"ok"}
    assert got["signalled"] is True
