"""Rows 3 and 4 of bench/core.py: the anchors of one call, and how a call is timed.

Nothing here touches wiseflow: pluggy calling one hookimpl, a plain method call, a
blocking pipe ping-pong between two processes (the floor of any round trip over pipes; the
same with each side polling briefly before it sleeps, the floor of the sandbox's way of
waiting), and the background load row 4 is measured under as well as without: one busy-loop process
per core (``background_load``), so that each wakeup of a round trip has to preempt one, as
on a machine doing other work. Idle and loaded rounds alternate (``conditions``).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import pluggy


def pluggy_call() -> Callable[[], Any]:
    spec, impl = pluggy.HookspecMarker("bench"), pluggy.HookimplMarker("bench")

    class Spec:
        @spec
        def ping(self, x: int) -> int:  # type: ignore[empty-body]
            ...

    class Impl:
        @impl
        def ping(self, x: int) -> int:
            return x

    pm = pluggy.PluginManager("bench")
    pm.add_hookspecs(Spec)
    pm.register(Impl())
    hook = pm.hook.ping
    return lambda: hook(x=1)


def plain_call() -> Callable[[], Any]:
    class Plain:
        def ping(self, x: int) -> int:
            return x

    obj = Plain()
    return lambda: obj.ping(1)


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    """Mean µs per call over ``n`` calls (the loop's ~0.05 µs included, alike for all)."""
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def round_trips(fn: Callable[[], Any], n: int) -> list[float]:
    """µs of each of ``n`` calls, timed one by one (a round trip dwarfs the clock's cost)."""
    clock, out = time.perf_counter, []
    for _ in range(n):
        t = clock()
        fn()
        out.append((clock() - t) * 1e6)
    return out


def _spin_read(fd: int, spin: float) -> bytes:
    """os.read of a non-blocking ``fd``, polling up to ``spin`` s before sleeping in select."""
    end = time.perf_counter() + spin
    while True:
        try:
            return os.read(fd, 64)
        except BlockingIOError:
            if time.perf_counter() >= end:
                select.select([fd], [], [])


def pipe_ping_pong(n: int, spin: float = 0.0) -> list[float]:
    """µs of each 4-byte round trip between two processes over two pipes, blocking reads.

    With ``spin`` > 0 both sides poll up to ``spin`` s before they sleep: the floor of the
    sandbox's own way of waiting (``_sandbox/_spin``) on a quiet machine. That variant has
    no back-off: on a loaded machine a side may spin while the other waits for its CPU,
    which the sandbox's back-off avoids (measured: 110 µs here, 13 µs in the sandbox).
    """

    def read(fd: int) -> bytes:
        return _spin_read(fd, spin) if spin > 0 else os.read(fd, 64)

    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:  # the echo: only os.* calls, then _exit
        os.close(w1)
        os.close(r2)
        os.set_blocking(r1, spin <= 0)
        while data := read(r1):
            os.write(w2, data)
        os._exit(0)
    os.close(r1)
    os.close(w2)
    os.set_blocking(r2, spin <= 0)
    try:
        return round_trips(lambda: (os.write(w1, b"ping"), read(r2)), n)
    finally:
        os.close(w1)
        os.waitpid(pid, 0)
        os.close(r2)


#: The suffix of a label measured under the background load.
BUSY = " [busy]"
#: How many busy-loop processes the loaded condition of row 4 runs: one per core, so that
#: every CPU has a competitor and each wakeup of a round trip must preempt one.
BUSY_LOOPS = os.cpu_count() or 2
#: Each one: report that it runs, then spin in pure Python until killed.
_BUSY = "import os\nos.write(1, b'r')\nwhile True:\n    pass\n"


@contextmanager
def background_load(n: int = BUSY_LOOPS) -> Iterator[None]:
    """``n`` busy-loop processes running meanwhile (started here, killed on the way out).

    Waits (up to 30 s) until each one runs, so the measurement starts under the full load.
    """
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            p = subprocess.Popen([sys.executable, "-c", _BUSY], stdout=subprocess.PIPE)
            procs.append(p)
        for p in procs:
            assert p.stdout is not None
            ready, _, _ = select.select([p.stdout], [], [], 30)
            if not ready or p.stdout.read(1) != b"r":
                raise RuntimeError("a background busy loop did not start")
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()


def conditions(round_no: int) -> list[tuple[str, Callable[[], AbstractContextManager[None]]]]:
    """Row 4's two conditions, in an order that alternates between rounds: ("", idle) and
    (" [busy]", under :func:`background_load`); the suffix goes after each label."""
    both: list[tuple[str, Callable[[], AbstractContextManager[None]]]] = [
        ("", nullcontext),
        (BUSY, background_load),
    ]
    return both if round_no % 2 == 0 else both[::-1]
