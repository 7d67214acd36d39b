"""Signals beside the host: the zygote, sibling workers (one of the same plugin), ``kill(-1)``.

``test_processes`` covers signals to the host and its group. A worker also shares the
machine with the zygote that forks every worker (never confined, it must create namespaces),
with the workers of other plugins, and with other workers of its own plugin (replicas,
dependency instances: the same uid under a root host). ``kill(-1, SIGKILL)`` asks the kernel
to signal everything the caller may signal. Each is refused (Landlock's signal scope: a
worker may signal only its own domain), and every target lives on.
"""

from __future__ import annotations

import errno
import signal

import pytest
from sandbox_kit import RunnerFactory, process_alive

from wiseflow import Record
from wiseflow._sandbox import _zygote

pytestmark = pytest.mark.usefixtures("host_survives")

ATTACKER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def kill(self, pid, sig):
        try:
            os.kill(pid, sig)
            return {"ok": True}
        except OSError as exc:
            return {"ok": False, "errno": exc.errno}

    def uid(self):
        return os.getuid()
"""


def test_the_zygote_and_sibling_workers_cannot_be_signalled(sandbox: RunnerFactory) -> None:
    attacker = sandbox(ATTACKER, name="same")
    twin = sandbox(ATTACKER, name="same")  # another worker of the same plugin
    other = sandbox(ATTACKER, name="other")
    zygote = _zygote._shared  # noqa: SLF001 - the zygote these workers came from, if any
    targets = {"twin": twin.pid(), "other": other.pid()}
    if zygote is not None:
        targets["zygote"] = zygote.pid
    else:  # workers were cold-started here: say so rather than pass quietly
        assert attacker._proc._popen is not None  # noqa: SLF001
    assert attacker.call("uid", [], 10) == twin.call("uid", [], 10)  # same uid: no help there
    denied = {"ok": False, "errno": errno.EPERM}
    for what, pid in targets.items():
        assert attacker.call("kill", [pid, int(signal.SIGKILL)], 10) == denied, what
    attacker.call("kill", [-1, int(signal.SIGKILL)], 10)  # whatever it may reach
    for what, pid in targets.items():
        assert pid is not None and process_alive(pid), what
    batch = [Record(id="x", source="t")]
    assert twin.call("process", [batch], 10) == batch
    assert other.call("process", [batch], 10) == batch
    assert attacker.call("process", [batch], 10) == batch  # kill(-1) spares the caller
