"""Rows 3 and 4 of bench/core.py: the anchors of one call, and how a call is timed.

Nothing here touches wiseflow: pluggy calling one hookimpl, a plain method call, and a
blocking pipe ping-pong between two processes (the floor of any round trip over pipes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
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


def pipe_ping_pong(n: int) -> list[float]:
    """µs of each 4-byte round trip between two processes over two pipes, blocking reads."""
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:  # the echo: only os.* calls, then _exit
        os.close(w1)
        os.close(r2)
        while data := os.read(r1, 64):
            os.write(w2, data)
        os._exit(0)
    os.close(r1)
    os.close(w2)
    try:
        return round_trips(lambda: (os.write(w1, b"ping"), os.read(r2, 64)), n)
    finally:
        os.close(w1)
        os.waitpid(pid, 0)
        os.close(r2)
