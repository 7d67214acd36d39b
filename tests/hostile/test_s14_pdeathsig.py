"""A worker clearing its own death signal to outlive a killed host (``PR_SET_PDEATHSIG``).

Each worker asks the kernel for SIGKILL when its host dies (``PR_SET_PDEATHSIG``). An idle
worker also ends when its channel closes, but one busy in a call reads nothing: the death
signal is what ends it. ``prctl(PR_SET_PDEATHSIG, 0)`` from the plugin cleared it, and a
worker kept busy ran on after its host was SIGKILLed (as the OOM killer does), confined but
with nobody enforcing its data dir ceilings, until a later host swept it (if one ever came).
Now the seccomp filter refuses that prctl (EPERM): the worker dies with its host.

Positive control: with seccomp off the same plugin clears its death signal and its
heartbeat goes on after the host is dead and reaped.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandbox_kit import process_alive

from wiseflow._sandbox._probe import DISABLE_ENV

ATTACKER = """
import ctypes

libc = ctypes.CDLL(None, use_errno=True)

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def clear(self):
        r = libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG, 0: no signal when the host dies
        return 0 if r == 0 else ctypes.get_errno()

    def busy(self):
        beat = os.path.join(str(self.ctx.data_dir), "beat")
        n = 0
        while True:  # a long call: the worker reads no frame, so it never sees EOF
            n += 1
            with open(beat + ".tmp", "w") as f:
                f.write(str(n))
            os.replace(beat + ".tmp", beat)
            time.sleep(0.05)
"""

HOST = """
import json, sys, warnings
sys.path.insert(0, {kit!r})
from pathlib import Path
from sandbox_kit import make_runner_factory
factory, _ = make_runner_factory(Path({tmp!r}))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the control's weaker sandbox warns
    r = factory({code!r}, name="clinger", allow_weaker_sandbox=True)
print(json.dumps({{"pid": r.pid(), "cleared": r.call("clear", [], 10)}}), flush=True)
r.call("busy", [], 600)
"""


#: Runs a host with ``env`` and kills it: (what the host printed, the beat once it was reaped).
Killer = Callable[[dict[str, str]], tuple[dict[str, int], int]]


def _until(condition: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline_s:g} s: {what}")
        time.sleep(0.02)


def _beat(tmp: Path) -> int:
    try:
        return int((tmp / "data" / "clinger" / "beat").read_text())
    except (OSError, ValueError):
        return 0


@pytest.fixture
def killed_host(tmp_path: Path) -> Iterator[Killer]:
    """Start a host, let its worker clear its death signal and get busy, SIGKILL the host;
    gives (what the host printed, the beat seen once the host was reaped)."""
    workers: list[int] = []

    def run(env: dict[str, str]) -> tuple[dict[str, int], int]:
        kit = str(Path(__file__).resolve().parents[1] / "sandbox")
        script = textwrap.dedent(HOST).format(kit=kit, tmp=str(tmp_path), code=ATTACKER)
        host = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**os.environ, **env},
        )  # fmt: skip
        try:
            assert host.stdout is not None
            got = json.loads(host.stdout.readline())
            workers.append(got["pid"])
            _until(lambda: _beat(tmp_path) > 0, "the worker got busy")
        finally:
            host.send_signal(signal.SIGKILL)
            host.wait(30)
            if host.stdout is not None:
                host.stdout.close()
        return got, _beat(tmp_path)

    yield run
    for pid in workers:  # the control's survivor (this test's own attacker)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_busy_worker_cannot_clear_its_death_signal(killed_host: Killer) -> None:
    got, _ = killed_host({})
    assert got["cleared"] == errno.EPERM
    _until(lambda: not process_alive(got["pid"]), "the worker died with its host")


def test_positive_control_without_seccomp_the_worker_outlives_its_host(
    killed_host: Killer, tmp_path: Path
) -> None:
    got, beat = killed_host({DISABLE_ENV: "seccomp"})
    assert got["cleared"] == 0
    _until(lambda: _beat(tmp_path) > beat + 2, "the worker beats on with its host dead")
    assert process_alive(got["pid"])
