"""Spin, then block (``_sandbox/_spin``): each side of a worker's channel polls briefly for
the next frame before it sleeps, within bounds that a peer cannot stretch.

- the budget backs off after spins that found nothing and starts over after a quick frame;
- a process that may run on one CPU only never spins (the peer would need that CPU);
- a worker left idle sleeps: its CPU time stays flat between calls;
- a host waiting for one call spins for the first frame only, so a worker pacing frames
  (logs here) just inside the spin cannot turn the host's wait into a busy loop. The
  control runs the same call with a link that spins for every frame.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import psutil
import pytest
from sandbox_kit import RunnerFactory

from wiseflow._sandbox import _link
from wiseflow._sandbox._spin import MAX_SKIP, SPIN_S, Spinner, spin_limit


def test_budget_backs_off_after_misses_and_starts_over_after_a_hit() -> None:
    s = Spinner(SPIN_S)
    assert s.budget() == SPIN_S
    skipped = []
    for _ in range(8):  # each miss skips the next 1, 3, 7, ... waits, at most MAX_SKIP
        s.miss()
        n = 0
        while s.budget() == 0.0:
            n += 1
        skipped.append(n)
    assert skipped == [1, 3, 7, 15, 31, 63, 63, 63]
    assert max(skipped) == MAX_SKIP
    s.hit()
    assert s.budget() == SPIN_S  # a spin that found its frame: spin again at once
    s.miss()
    assert s.budget() == 0.0


def test_spin_limit_is_zero_on_one_cpu() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    code = (
        "import os, sys\n"
        "from wiseflow._sandbox._spin import spin_limit\n"
        f"os.sched_setaffinity(0, {{{cpus[0]}}})\n"
        "print(spin_limit())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(done.stdout) == 0.0
    if len(cpus) < 2:
        pytest.skip(f"this machine lets the tests run on {len(cpus)} CPU: nothing to spin on")
    assert spin_limit() == SPIN_S


PACER = """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def ping(self):
        return "pong"

    def paced_logs(self, n, gap_s):
        for i in range(n):
            end = time.perf_counter() + gap_s
            while time.perf_counter() < end:  # a pace, not a sleep: inside the host's spin
                pass
            self.ctx.log.warning("line %d", i)
        return n
"""


def _cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def test_an_idle_worker_sleeps_between_calls(sandbox: RunnerFactory) -> None:
    r = sandbox(PACER)
    pid = r.pid()
    assert pid is not None
    for _ in range(200):  # back to back: the worker's spins find the next call
        assert r.call("ping", [], 30) == "pong"
    before = _cpu(pid)
    time.sleep(0.5)  # the window measured, not a synchronisation
    idle = _cpu(pid) - before
    assert idle < 0.1, f"an idle worker used {idle:.3f} s of CPU in 0.5 s"
    assert r.call("ping", [], 30) == "pong"


def _spins_for(r: Any, n: int, gap_s: float) -> int:
    link = r._link
    assert link is not None and link.spinner is not None
    link.spinner.hit()  # whatever the earlier waits found, this one starts with a spin
    before = link.spinner.spins
    assert r.call("paced_logs", [n, gap_s], 60) == n
    return int(link.spinner.spins - before)


@pytest.mark.skipif(spin_limit() == 0.0, reason="fewer than 2 CPUs: the host never spins")
def test_a_host_wait_spins_for_its_first_frame_only(
    sandbox: RunnerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = sandbox(PACER)
    n, gap = 400, SPIN_S / 2  # each log frame comes well inside a spin
    assert _spins_for(r, n, gap) == 1
    # control: a link that spins for every frame spins again and again (the back-off alone
    # does not stop a worker that always answers inside the spin). Whether each spin found
    # its frame or not, the second one comes by the third frame read: at least 2.
    real_next = _link.Link.next

    def next_spinning(self: Any, deadline: float, what: str, spin: bool = False) -> Any:
        return real_next(self, deadline, what, True)

    monkeypatch.setattr(_link.Link, "next", next_spinning)
    assert _spins_for(r, n, gap) >= 2
