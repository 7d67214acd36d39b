"""What one call through a PluginHandle costs, against its anchors, in one run.

Run: ``.venv/bin/python bench/callpath.py [--quick] [--rtt]``. Medians of interleaved rounds;
no assertion (numbers depend on the machine). ``--rtt``: the round trip rows of 2. only
(pipe, socketpair, ``WorkerRunner.call``, sandboxed invoke), for iterating on the call path.

1. One trusted call: ``PluginHandle.invoke`` (and the in-process runner's share of it) vs
   pluggy calling one hook impl vs a plain call.
2. One sandboxed call: ``PluginHandle.invoke`` and ``WorkerRunner.call`` vs a blocking pipe
   ping-pong between two processes (the floor), and the same over an AF_UNIX socketpair
   (the sandbox's transport until it moved to pipes: ~2x the pipe's on a busy machine).
   Each measured idle and with one busy-loop process per core running (``[busy]``).
3. Fetch of 100k ~300-byte records through the handle (sandboxed and trusted): item by
   item (``fetch``), chunk by chunk (``fetch_chunks``, when the handle has it), and through
   the engine's source loop into batches of 500 (``_pipeline._source.produce``).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core_calls import BUSY, conditions, pipe_ping_pong

from wiseflow._sandbox._spin import SPIN_S

QUICK = "--quick" in sys.argv
RTT = "--rtt" in sys.argv
ROUNDS = 3 if QUICK else 7
N_CALLS = 2000 if QUICK else 20000
N_PING = 500 if QUICK else 2000
N_RECORDS = 100_000

PLUGIN = """
from wiseflow import ConnectorPlugin, Record

TEXT = "lorem ipsum dolor sit amet " * 6


class P(ConnectorPlugin):
    def fetch(self, state):
        n = int((state or {}).get("n", 0))
        for i in range(n):
            yield Record(
                id=f"rec-{i:08d}", source="bench", kind="article",
                title=f"Title number {i} of the benchmark", text=TEXT,
                url=f"https://example.org/items/{i}", author="someone",
            )

    def ping(self, x):
        return x
"""


def write_plugin(root: Path) -> Path:
    folder = root / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "bench"\nversion = "1.0.0"\nkind = "connector"\nentry = "mod:P"\n'
    )
    (folder / "mod.py").write_text(textwrap.dedent(PLUGIN))
    return root


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    """Mean µs per call of ``fn`` over ``n`` calls (one timing for the whole loop)."""
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def round_trip_us(fn: Callable[[], Any], n: int) -> float:
    """Median µs of ``n`` single timed calls (round trips vary; the median is stable)."""
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6


def raw_socket_floor(n: int) -> float:
    """Median round trip of 4 bytes between two processes over an AF_UNIX socketpair (the
    sandbox's transport until it moved to pipes)."""
    import socket

    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        a.close()
        while True:
            data = b.recv(64)
            if not data:
                os._exit(0)
            b.sendall(data)
    b.close()

    def ping() -> None:
        a.sendall(b"ping")
        a.recv(64)

    try:
        return round_trip_us(ping, n)
    finally:
        a.close()
        os.waitpid(pid, 0)


def pluggy_call() -> Callable[[], Any]:
    import pluggy

    spec = pluggy.HookspecMarker("bench")
    impl = pluggy.HookimplMarker("bench")

    class Spec:
        @spec
        def ping(self, x: Any) -> Any: ...

    class Impl:
        @impl
        def ping(self, x: Any) -> Any:
            return x

    pm = pluggy.PluginManager("bench")
    pm.add_hookspecs(Spec)
    pm.register(Impl())
    hook = pm.hook.ping
    return lambda: hook(x=1)


def fetch_items(handle: Any, n: int) -> float:
    t = time.perf_counter()
    got = sum(1 for _ in handle.fetch({"n": n}))
    assert got == n, got
    return n / (time.perf_counter() - t)


def fetch_chunks(handle: Any, n: int) -> float:
    t = time.perf_counter()
    got = sum(len(c) for c in handle.fetch_chunks({"n": n}))
    assert got == n, got
    return n / (time.perf_counter() - t)


def source_loop(handle: Any, n: int) -> float:
    """Records per second through the engine's source loop (fetch, batches of 500)."""
    import queue
    import threading

    from wiseflow._pipeline._source import Batch, produce

    out: queue.Queue[Any] = queue.Queue()
    t = time.perf_counter()
    produce(handle, {"n": n}, 500, out, threading.Event())
    seconds = time.perf_counter() - t
    got = 0
    while not out.empty():
        item = out.get_nowait()
        if isinstance(item, Batch):
            got += len(item.records)
        elif item.error is not None:
            raise item.error
    assert got == n, got
    return n / seconds


def main() -> None:
    warnings.simplefilter("ignore")
    from wiseflow.testing import make_manager

    tmp = Path(tempfile.mkdtemp(prefix="wiseflow-bench-"))
    write_plugin(tmp / "plugins")
    trusted = make_manager(plugin_dirs=[tmp / "plugins"], data_dir=tmp / "t", level="trusted")
    sandboxed = make_manager(plugin_dirs=[tmp / "plugins"], data_dir=tmp / "s", level="sandboxed")
    th = trusted.start("bench")
    sh = sandboxed.start("bench")
    assert th.level == "trusted", th.level
    assert sh.level == "sandboxed", sh.level
    obj = th.runner.instance.obj  # type: ignore[attr-defined]  # the plugin object
    hook = pluggy_call()

    def trusted_call() -> Any:
        return th.runner.call("ping", [1], None)

    rows: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    chunked = hasattr(sh, "fetch_chunks")
    for r in range(ROUNDS):
        if not RTT:
            add("plain call (µs)", per_call_us(lambda: obj.ping(1), N_CALLS))
            add("pluggy, one hook impl (µs)", per_call_us(hook, N_CALLS))
            add(
                "trusted PluginHandle.invoke (µs)",
                per_call_us(lambda: th.invoke("ping", 1), N_CALLS),
            )
            add("InProcessRunner.call alone (µs)", per_call_us(trusted_call, N_CALLS))
        for suffix, load in conditions(r):  # idle, and one busy loop per core (core_calls)
            with load():
                piped = pipe_ping_pong(N_PING)
                add(f"blocking pipe ping-pong{suffix} (µs)", statistics.median(piped))
                add(f"blocking socketpair ping-pong{suffix} (µs)", raw_socket_floor(N_PING))
                spun = pipe_ping_pong(N_PING, SPIN_S)  # the sandbox's way of waiting
                add(f"pipe ping-pong, poll 50 us then sleep{suffix} (µs)", statistics.median(spun))
                add(
                    f"WorkerRunner.call{suffix} (µs)",
                    round_trip_us(lambda: sh.runner.call("ping", [1], 10), N_PING),
                )
                add(
                    f"sandboxed PluginHandle.invoke{suffix} (µs)",
                    round_trip_us(lambda: sh.invoke("ping", 1), N_PING),
                )
        if RTT:
            continue
        add("sandboxed fetch, items (rec/s)", fetch_items(sh, N_RECORDS))
        if chunked:
            add("sandboxed fetch, chunks (rec/s)", fetch_chunks(sh, N_RECORDS))
        add("sandboxed source loop (rec/s)", source_loop(sh, N_RECORDS))
        add("trusted fetch, items (rec/s)", fetch_items(th, N_RECORDS))
        if chunked:
            add("trusted fetch, chunks (rec/s)", fetch_chunks(th, N_RECORDS))
        add("trusted source loop (rec/s)", source_loop(th, N_RECORDS))
    trusted.close()
    sandboxed.close()
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"medians of {ROUNDS} interleaved rounds")
    for key, value in med.items():
        print(f"  {key:40s} {value:12,.2f}")
    if not RTT:
        pluggy = med["pluggy, one hook impl (µs)"]
        t_invoke = med["trusted PluginHandle.invoke (µs)"]
        print(f"  trusted invoke / pluggy      = {t_invoke / pluggy:.2f}")
    for suffix in ("", BUSY):
        pipe = med[f"blocking pipe ping-pong{suffix} (µs)"]
        invoke = med[f"sandboxed PluginHandle.invoke{suffix} (µs)"]
        call = med[f"WorkerRunner.call{suffix} (µs)"]
        print(f"  sandboxed invoke / pipe{suffix:8s} = {invoke / pipe:.2f}")
        print(f"  WorkerRunner.call / pipe{suffix:7s} = {call / pipe:.2f}")


if __name__ == "__main__":
    main()
