"""Spin, then block: how each side of a worker's channel waits for the other's next frame.

A process asleep in ``read`` or ``poll`` costs a wakeup when the frame comes: on this
2-core machine, ~2.5 µs per side when the CPUs are awake and ~25-30 µs when the peer's CPU
had gone idle (a blocking pipe ping-pong measures 6-7 µs and 55-65 µs). A side that keeps
polling for a short while instead sees the frame as soon as it is written, with no wakeup
either way; a sandboxed call's round trip went from 14-80 µs (depending on where the
scheduler put the two processes) to 9-11 µs in every condition, busy loops on both cores
included (``bench/callpath.py --rtt``, ``bench/core.py`` row 4).

Spinning is bounded and adaptive, because each microsecond of it is CPU taken from others:

- at most :data:`SPIN_S` per wait, then the side sleeps in the kernel as before;
- a spin that timed out (the peer was busy for longer: a long call, a host writing a store;
  or it waits for the very CPU the spinner holds, on a loaded machine) makes the next waits
  skip spinning: 1, then 3, 7... up to :data:`MAX_SKIP` in a row, so a peer that is never
  quick costs at most one spin in 64 waits; a spin that finds its frame starts over. (A
  sleep that ended soon is no evidence: on a loaded machine, the peer ran *because* this
  side slept, and resetting on it made every other wait a wasted spin: 65 µs round trips.)
- never with fewer than two CPUs to run on (:func:`spin_limit`): the peer would need the CPU
  the spinner holds, and each round trip would take two whole spins (measured: 120 µs).

The spin loop only polls (no ``sched_yield``: a yielding process loses its CPU to any
busy process for a whole time slice, which made round trips 5x slower on a loaded
machine). Deadlines are untouched: a spin is far shorter than any deadline and each side
checks its deadlines around it as before.
"""

from __future__ import annotations

import os

__all__ = ["MAX_SKIP", "SPIN_S", "Spinner", "spin_limit"]

#: The longest a side polls for the next frame before it sleeps (seconds). About three
#: round trips: long enough to cover a short call, short enough to cost little when missed.
SPIN_S = 50e-6
#: The most waits skipped in a row after spins that found nothing (a power of two less one).
MAX_SKIP = 63


def spin_limit() -> float:
    """:data:`SPIN_S`, or 0.0 (never spin) when this process may run on fewer than 2 CPUs."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux, or refused: be conservative
        cpus = 1
    return SPIN_S if cpus >= 2 else 0.0


class Spinner:
    """The spin budget of one waiting side (see the module's notes); not thread-safe: each
    side waits from one thread at a time (the host's runner lock, the worker's read lock)."""

    __slots__ = ("_misses", "_skip", "limit", "spins")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.spins = 0  # spins granted so far (for tests and benchmarks)
        self._skip = 0  # waits left that sleep at once
        self._misses = 0  # spins in a row that found nothing

    def budget(self) -> float:
        """Seconds to spin before this wait sleeps (0.0: sleep at once)."""
        if self._skip:
            self._skip -= 1
            return 0.0
        self.spins += 1
        return self.limit

    def hit(self) -> None:
        """The frame came within the bound: spin again next time."""
        self._misses = self._skip = 0

    def miss(self) -> None:
        """A spin found nothing: skip spinning for the next 1, 3, 7... waits."""
        self._misses = misses = min(self._misses + 1, 6)
        self._skip = min((1 << misses) - 1, MAX_SKIP)
