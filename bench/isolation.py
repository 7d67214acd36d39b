"""What isolation costs: a sandboxed worker against the usual ways to talk to a process.

Run: ``.venv/bin/python bench/isolation.py [--quick]``. Prints medians side by side with
their ratio to the reference of each section. No assertion: numbers depend on the machine.

1. Round trip of a tiny call: sandboxed WorkerRunner vs a raw pipe ping-pong (the floor),
   multiprocessing.Pipe and multiprocessing.Pool.apply.
2. Throughput of ~300-byte Records through a trivial processor at batch 500: sandboxed vs
   in-process vs JSON lines over a pipe (stdlib json, orjson), the Airbyte/Singer way.
3. Worker start until ready vs ``python -c pass``; idle worker memory (USS).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import select
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson
import psutil

from wiseflow import Record, load_manifest
from wiseflow._host._runner import RunnerSpec
from wiseflow._sandbox._runner import WorkerRunner
from wiseflow._sandbox._spin import SPIN_S

QUICK = "--quick" in sys.argv
ROUNDS = 3 if QUICK else 7
N_PING = 700 if QUICK else 2000
N_BATCHES = 20 if QUICK else 100
N_START = 5 if QUICK else 20
BATCH = 500

PLUGIN = """
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.annotate("seen", True) for r in batch]

    def ping(self, x):
        return x
"""


class NullBackend:
    def http_request(self, *a: Any) -> Any:
        raise NotImplementedError

    def secret(self, name: str) -> str | None:
        return None

    def check_read(self, path: str) -> str:
        raise NotImplementedError

    def call_plugin(self, *a: Any) -> Any:
        raise NotImplementedError


def make_runner(root: Path, *, use_zygote: bool = True) -> WorkerRunner:
    folder = root / "bench-plugin"
    folder.mkdir(exist_ok=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "bench"\nversion = "1.0.0"\nkind = "processor"\nentry = "mod:P"\n'
    )
    (folder / "mod.py").write_text(textwrap.dedent(PLUGIN))
    spec = RunnerSpec(
        instance="bench",
        manifest=load_manifest(folder),
        code_root=str(folder),
        data_dir=str(root / "data"),
        level="sandboxed",
    )
    return WorkerRunner(spec, NullBackend(), use_zygote=use_zygote)


def records(n: int) -> list[Record]:
    return [
        Record(
            id=f"rec-{i:08d}",
            source="bench",
            kind="article",
            title=f"Title number {i} of the benchmark",
            text="lorem ipsum dolor sit amet " * 6,
            url=f"https://example.org/items/{i}",
            author="someone",
            tags=("a", "b"),
            data={"n": i, "lang": "en"},
        )
        for i in range(n)
    ]


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


# -- 1. round trips -------------------------------------------------------------------------


def _read(fd: int, spin: float) -> bytes:
    """os.read, polling up to ``spin`` s first (no yield), as the sandbox does (_spin)."""
    if spin:
        end = time.perf_counter() + spin
        while time.perf_counter() < end:
            try:
                return os.read(fd, 64)
            except BlockingIOError:
                pass
        select.select([fd], [], [])
    return os.read(fd, 64)


def _pipe_echo(r: int, w: int, spin: float) -> None:
    os.set_blocking(r, not spin)
    while True:
        data = _read(r, spin)
        if not data:
            os._exit(0)
        os.write(w, data)


def raw_pipe_floor(spin: float = 0.0) -> float:
    """Median round trip of 4 bytes between two processes over a pair of pipes."""
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w1)
        os.close(r2)
        _pipe_echo(r1, w2, spin)
    os.close(r1)
    os.close(w2)
    os.set_blocking(r2, not spin)
    samples = []
    for _ in range(N_PING):
        t = time.perf_counter()
        os.write(w1, b"ping")
        _read(r2, spin)
        samples.append(time.perf_counter() - t)
    os.close(w1)
    os.waitpid(pid, 0)
    os.close(r2)
    return median_us(samples)


def _mp_echo(conn: Any) -> None:
    while True:
        msg = conn.recv()
        if msg is None:
            return
        conn.send(msg)


def mp_pipe() -> float:
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=_mp_echo, args=(b,))
    p.start()
    b.close()
    samples = []
    for _ in range(N_PING):
        t = time.perf_counter()
        a.send(1)
        a.recv()
        samples.append(time.perf_counter() - t)
    a.send(None)
    p.join()
    a.close()
    return median_us(samples)


def _identity(x: Any) -> Any:
    return x


def mp_pool() -> float:
    with mp.get_context("fork").Pool(1) as pool:
        samples = []
        for _ in range(N_PING // 4):
            t = time.perf_counter()
            pool.apply(_identity, (1,))
            samples.append(time.perf_counter() - t)
    return median_us(samples)


def sandboxed_call(runner: WorkerRunner) -> float:
    samples = []
    for _ in range(N_PING):
        t = time.perf_counter()
        runner.call("ping", [1], 10)
        samples.append(time.perf_counter() - t)
    return median_us(samples)


# -- 2. throughput --------------------------------------------------------------------------

JSON_CHILD = r"""
import sys, json
dumps, loads = json.dumps, json.loads
if sys.argv[1] == "orjson":
    import orjson
    loads = orjson.loads
    def dumps(o):
        return orjson.dumps(o).decode()
from wiseflow import Record
import msgspec
out = []
for line in sys.stdin:
    if line == "\n":  # end of a batch: answer it whole, so neither side blocks the other
        out.append("\n")
        sys.stdout.write("".join(out))
        sys.stdout.flush()
        out.clear()
        continue
    rec = msgspec.convert(loads(line), Record).annotate("seen", True)
    out.append(dumps(msgspec.to_builtins(rec)) + "\n")
"""


def json_lines(kind: str, batches: list[list[Record]]) -> float:
    """Records/s through a child that parses, rebuilds and re-emits each record as JSON."""
    dumps: Callable[[Any], str]
    if kind == "orjson":

        def dumps(o: Any) -> str:
            return orjson.dumps(o).decode()

        loads: Any = orjson.loads
    else:
        dumps, loads = json.dumps, json.loads
    child = subprocess.Popen(
        [sys.executable, "-c", JSON_CHILD, kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1 << 16,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    n = 0
    t = time.perf_counter()
    for batch in batches:
        child.stdin.write("".join(dumps(msgspec.to_builtins(r)) + "\n" for r in batch) + "\n")
        child.stdin.flush()
        while True:
            line = child.stdout.readline()
            if line == "\n":
                break
            msgspec.convert(loads(line), Record)
            n += 1
    elapsed = time.perf_counter() - t
    child.stdin.close()
    child.wait()
    child.stdout.close()
    return n / elapsed


def sandboxed_throughput(runner: WorkerRunner, batches: list[list[Record]]) -> float:
    n = 0
    t = time.perf_counter()
    for batch in batches:
        n += len(runner.call("process", [batch], 30))
    return n / (time.perf_counter() - t)


def in_process_throughput(batches: list[list[Record]]) -> float:
    class P:
        def process(self, batch: list[Record]) -> list[Record]:
            return [r.annotate("seen", True) for r in batch]

    p = P()
    n = 0
    t = time.perf_counter()
    for batch in batches:
        n += len(p.process(batch))
    return n / (time.perf_counter() - t)


# -- 3. start and memory --------------------------------------------------------------------


def python_pass(*flags: str) -> float:
    """Median ms of ``python *flags -c pass`` (or of the ``-c`` code that ``flags`` ends with)."""
    argv = [sys.executable, *flags] if "-c" in flags else [sys.executable, *flags, "-c", "pass"]
    samples = []
    for _ in range(N_START):
        t = time.perf_counter()
        subprocess.run(argv, check=True)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e3


def start(root: Path, *, use_zygote: bool) -> tuple[float, float]:
    """Median ms from load() to a confined worker with the plugin imported; idle USS MB."""
    samples = []
    uss = 0.0
    for i in range(N_START):
        runner = make_runner(root, use_zygote=use_zygote)
        t = time.perf_counter()
        runner.load()
        samples.append(time.perf_counter() - t)
        if i == 0:
            runner.initialize({})
            pid = runner.pid()
            assert pid is not None
            time.sleep(0.2)
            uss = psutil.Process(pid).memory_full_info().uss / 2**20
        runner.close()
    return statistics.median(samples) * 1e3, uss


def bare_fork() -> float:
    samples = []
    for _ in range(N_START * 5):
        t = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e3


def row(label: str, value: float, unit: str, ref: float | None) -> None:
    ratio = f"{value / ref:6.2f}x" if ref else "   ref "
    print(f"  {label:<44} {value:>12,.1f} {unit:<6} {ratio}")


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (other work skews µs)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runner = make_runner(root)
        runner.load()
        runner.initialize({})
        try:
            print(f"1. tiny call round trip (median of {ROUNDS} interleaved rounds of p50s)")
            measures = {
                "raw pipe ping-pong, spin then block (floor)": lambda: raw_pipe_floor(SPIN_S),
                "raw pipe ping-pong, blocking reads": raw_pipe_floor,
                "sandboxed WorkerRunner.call": lambda: sandboxed_call(runner),
                "multiprocessing.Pipe": mp_pipe,
                "multiprocessing.Pool.apply": mp_pool,
            }
            # interleaved, so that every contender sees the same background load
            p50s: dict[str, list[float]] = {k: [] for k in measures}
            for _ in range(ROUNDS):
                for label, fn in measures.items():
                    p50s[label].append(fn())
            floor = statistics.median(p50s["raw pipe ping-pong, spin then block (floor)"])
            for label, values in p50s.items():
                value = statistics.median(values)
                row(label, value, "us", None if value == floor else floor)

            print(f"2. throughput, ~300-byte records, batch {BATCH} (records/s)")
            batches = [records(BATCH) for _ in range(N_BATCHES)]
            size = statistics.mean(len(msgspec.msgpack.encode(r)) for r in batches[0])
            print(f"  (records are {size:.0f} bytes as msgpack)")
            sandboxed = sandboxed_throughput(runner, batches)
            row("sandboxed WorkerRunner (msgpack frames)", sandboxed, "rec/s", None)
            row("in-process", in_process_throughput(batches), "rec/s", sandboxed)
            row("JSON lines over a pipe, orjson", json_lines("orjson", batches), "rec/s", sandboxed)
            row(
                "JSON lines over a pipe, stdlib json",
                json_lines("json", batches),
                "rec/s",
                sandboxed,
            )
        finally:
            runner.close()

        print("3. start until ready (median) and idle memory")
        bare = python_pass()
        row("python -c pass", bare, "ms", None)
        row("python -I -S -c pass", python_pass("-I", "-S"), "ms", bare)
        # what any worker pays before its own code: msgspec (typing, typing_extensions,
        # inspect, datetime, uuid, decimal) and the plugin API package (`import wiseflow`)
        row("python -I -c 'import msgspec'", python_pass("-I", "-c", "import msgspec"), "ms", bare)
        row(
            "python -I -c 'import wiseflow'", python_pass("-I", "-c", "import wiseflow"), "ms", bare
        )
        cold, cold_uss = start(root, use_zygote=False)
        row("sandboxed worker, cold (confined, plugin loaded)", cold, "ms", bare)
        fork = bare_fork()
        row("bare os.fork + exit + wait", fork, "ms", None)
        make_runner(root).load()  # boot the zygote outside the measurement
        warm, warm_uss = start(root, use_zygote=True)
        row("sandboxed worker, warm from zygote", warm, "ms", fork)
        print(f"  {'idle worker USS, cold':<44} {cold_uss:>12,.1f} MB")
        print(f"  {'idle worker USS, from zygote':<44} {warm_uss:>12,.1f} MB")


if __name__ == "__main__":
    main()
