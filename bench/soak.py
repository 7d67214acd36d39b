"""Soak: 50 plugins, some failing at random, 1M records — nothing lost, memory flat.

Run: ``.venv/bin/python bench/soak.py [--records 1000000] [--sandboxed 2] [--seed 7]``.
Not part of the test suite (minutes, not seconds). Exits 1 if a record is lost, the
dead letters are not exactly the poisoned records, or memory grows past ``--max-growth-mb``.

The 50 plugins, all through a real PluginManager, handles, the streaming engine and SQLite:

- 10 connectors (trusted), ``records / 10`` records each, a checkpoint every 1000; one in
  ``--poison`` records is poisoned;
- 34 processors (trusted) failing with TransientError at random (``--transient`` per call;
  retried with backoff), one of them (``strict``) failing on every batch holding a poisoned
  record (the engine bisects; the poisoned record is dead-lettered);
- ``flappy`` (trusted), down between calls 300 and 900: its breaker opens, ``flappy-spare``
  (its manifest fallback) serves, then the breaker half-opens and closes;
- ``--sandboxed`` processors in workers whose process exits at random (``--crash`` per
  call): the worker is restarted and the call retried;
- analyzers counting what they see (the rest up to 50).

Checks: fetched == stored + dead letters == records; dead letters == poisoned records;
every analyzer saw every stored record; host RSS (and each worker's) flat after warm-up.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import psutil

from wiseflow import (
    AnalyzerPlugin,
    Checkpoint,
    ConnectorPlugin,
    Manifest,
    ProcessorPlugin,
    Record,
    TransientError,
    run_pipeline,
)
from wiseflow._pipeline import parse_pipeline
from wiseflow._policy._operator import Breaker, OperatorConfig, PluginPolicy, Retry
from wiseflow._store import DB_NAME, Store
from wiseflow.testing import make_manager

ARGS: argparse.Namespace


def poisoned(i: int) -> bool:
    return i % ARGS.poison == ARGS.poison // 2


def make_source(k: int, n: int) -> type[ConnectorPlugin]:
    class Source(ConnectorPlugin):
        def fetch(self, state: dict[str, Any] | None) -> Any:
            start = state["next"] if state else 0
            base = k * n
            for i in range(start, n):
                g = base + i
                yield Record(id=str(g), source="s", title=f"item {g}", data={"p": poisoned(g)})
                if (i + 1) % 1000 == 0:
                    yield Checkpoint(state={"next": i + 1})

    Source.name = f"source-{k}"  # type: ignore[attr-defined]
    Source.kind = "connector"  # type: ignore[attr-defined]
    return Source


def make_processor(k: int, rng: random.Random) -> type[ProcessorPlugin]:
    class Flaky(ProcessorPlugin):
        def process(self, batch: list[Record]) -> list[Record]:
            if rng.random() < ARGS.transient:
                raise TransientError("random blip")
            return batch

    Flaky.name = f"proc-{k}"  # type: ignore[attr-defined]
    return Flaky


class Strict(ProcessorPlugin):
    name = "strict"

    def process(self, batch: list[Record]) -> list[Record]:
        if any(r.data["p"] for r in batch):
            raise ValueError("poisoned record")
        return batch


class Flappy(ProcessorPlugin):
    """Down for ``--down-s`` seconds from its 300th call on, then well again."""

    calls = 0
    down_since: float | None = None

    def process(self, batch: list[Record]) -> list[Record]:
        cls = type(self)
        cls.calls += 1
        if cls.calls == 300:
            cls.down_since = time.monotonic()
        if cls.down_since is not None and time.monotonic() - cls.down_since < ARGS.down_s:
            raise TransientError("flappy is down")
        return batch


class Spare(ProcessorPlugin):
    def process(self, batch: list[Record]) -> list[Record]:
        return batch


def make_counter(k: int) -> type[AnalyzerPlugin]:
    class Counter(AnalyzerPlugin):
        def initialize(self, ctx: Any) -> None:
            self.n = 0

        def analyze(self, batch: list[Record]) -> None:
            self.n += len(batch)

        def result(self) -> dict[str, Any]:
            return {"n": self.n}

    Counter.name = f"count-{k}"  # type: ignore[attr-defined]
    Counter.kind = "analyzer"  # type: ignore[attr-defined]
    return Counter


CRASHER = """
import os, random
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.rng = random.Random()

    def process(self, batch):
        if self.rng.random() < {crash}:
            os._exit(3)
        return batch
"""


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def main() -> int:
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--plugins", type=int, default=50)
    ap.add_argument("--sandboxed", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--poison", type=int, default=10_000, help="one poisoned record in N")
    ap.add_argument("--transient", type=float, default=0.002, help="failure rate per call")
    ap.add_argument("--crash", type=float, default=0.002, help="worker exit rate per call")
    ap.add_argument("--down-s", type=float, default=3.0, help="how long flappy is down")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-growth-mb", type=float, default=40.0)
    ARGS = ap.parse_args()
    rng = random.Random(ARGS.seed)
    work = Path(tempfile.mkdtemp(prefix="wiseflow-soak-"))
    n_sources, n_analyzers = 10, 2
    per = ARGS.records // n_sources
    total = per * n_sources
    n_flaky = ARGS.plugins - n_sources - n_analyzers - 3 - ARGS.sandboxed  # strict, flappy+spare
    plugins: list[Any] = [make_source(k, per) for k in range(n_sources)]
    plugins += [make_processor(k, rng) for k in range(n_flaky)]
    plugins.append(Strict)
    plugins.append(
        (Manifest(name="flappy", version="1", kind="processor", entry="x:y",
                  fallback="flappy-spare"), Flappy)
    )  # fmt: skip
    plugins.append(
        (Manifest(name="flappy-spare", version="1", kind="processor", entry="x:y"), Spare)
    )
    plugins += [make_counter(k) for k in range(n_analyzers)]
    for k in range(ARGS.sandboxed):
        folder = work / "plugins" / f"crasher-{k}"
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "crasher-{k}"\nversion = "1.0.0"\nkind = "processor"\n'
            f'entry = "crasher{k}:P"\n'
        )
        (folder / f"crasher{k}.py").write_text(textwrap.dedent(CRASHER.format(crash=ARGS.crash)))
    retry = Retry(attempts=6, backoff_s=0.0005, max_backoff_s=0.01)
    policies = {"flappy": PluginPolicy(retry=retry, breaker=Breaker(failures=5, reset_s=0.5))}
    for k in range(ARGS.sandboxed):
        policies[f"crasher-{k}"] = PluginPolicy(level="sandboxed", retry=retry)
    policies.update({f"proc-{k}": PluginPolicy(retry=retry) for k in range(n_flaky)})
    pm = make_manager(
        *plugins,
        config=OperatorConfig(plugins=policies),
        plugin_dirs=[work / "plugins"],
        data_dir=work / "data",
    )
    sources = [f"source-{k}" for k in range(n_sources)]
    names = [f"proc-{k}" for k in range(n_flaky)] + ["strict", "flappy"]
    names += [f"crasher-{k}" for k in range(ARGS.sandboxed)]
    analyzers = [f"count-{k}" for k in range(n_analyzers)]
    # started here, so that they stay up after the run for the figures below
    # (run_pipeline stops only the instances it started itself)
    for name in (*sources, *names, *analyzers):
        pm.start(name)
    logging.getLogger("wiseflow").setLevel(logging.ERROR)  # counted below instead
    breaker_events: list[str] = []
    pm.events.subscribe(
        lambda e: breaker_events.append(e.event) if e.event.startswith("breaker") else None
    )
    started = len(pm.handles())
    print(f"plugins started: {started} ({ARGS.sandboxed} sandboxed); records: {total:,}")
    pipeline = parse_pipeline(
        f'[pipeline]\nname = "soak"\nbatch_size = {ARGS.batch}\n'
        + "".join(f'[[sources]]\nplugin = "{n}"\n' for n in sources)
        + "".join(f'[[processors]]\nplugin = "{n}"\n' for n in names)
        + "".join(f'[[analyzers]]\nplugin = "{n}"\n' for n in analyzers)
    )
    me = os.getpid()
    marks: list[tuple[int, float, float]] = []
    next_mark = [0]

    def progress(summary: Any) -> None:
        if summary.fetched >= next_mark[0]:
            gc.collect()
            workers = [p for h in pm.handles() if (p := h.runner.pid()) is not None]
            marks.append((summary.fetched, rss_mb([me]), rss_mb(workers)))
            next_mark[0] += total // 20

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = run_pipeline(pipeline, manager=pm, progress=progress, report="")
    elapsed = time.perf_counter() - t0
    store = Store.open(pm.data_dir / DB_NAME)
    stored = store.count()
    dead = store.count("dead_letters")
    expected_dead = sum(poisoned(i) for i in range(total))
    results = {name: summary.analyzers[name]["n"] for name in analyzers}
    stats = [h.describe() for h in pm.handles()]
    retries = sum(s["retries"] for s in stats)
    restarts = sum(s["restarts"] for s in stats)
    fallback = sum(s["fallback_calls"] for s in stats)
    opens = pm.get("flappy").breaker.opens if pm.get("flappy").breaker else 0
    print(f"elapsed {elapsed:.1f}s, {total / elapsed:,.0f} records/s through {len(names)} "
          f"processors")  # fmt: skip
    print(f"fetched {summary.fetched:,}  stored {stored:,}  dead letters {dead:,} "
          f"(poisoned {expected_dead:,})  analyzers {results}")  # fmt: skip
    print(f"retries {retries:,}  worker restarts {restarts}  fallback calls {fallback}  "
          f"flappy breaker opens {opens}, now {pm.get('flappy').breaker.state.value}")  # type: ignore[union-attr]  # fmt: skip
    print("breaker events: " + ", ".join(f"{e} x{breaker_events.count(e)}"
                                         for e in sorted(set(breaker_events))))  # fmt: skip
    print("fetched      host RSS MB   workers RSS MB")
    for fetched, host, workers in marks:
        print(f"{fetched:>10,}   {host:10.1f}   {workers:10.1f}")
    warm = [m for m in marks if m[0] >= total // 5] or marks
    growth = max(m[1] for m in warm) - warm[0][1]
    wgrowth = max(m[2] for m in warm) - min(m[2] for m in warm)
    print(f"host RSS growth after warm-up (20%): {growth:.1f} MB; workers' range {wgrowth:.1f} MB")
    top = sorted(stats, key=lambda s: -(s["resources"]["cpu_s"] or 0))[:5]
    for s in top:
        r = s["resources"]
        print(f"  {s['name']:<14} {s['level']:<9} calls {s['calls']:>6,} errors {s['errors']:>3} "
              f"cpu {r['cpu_s']:.2f}s p50 {s['p50_ms']}ms p95 {s['p95_ms']}ms")  # fmt: skip
    ok = (
        summary.fetched == total == stored + dead
        and dead == expected_dead
        and all(v == stored for v in results.values())
        and growth <= ARGS.max_growth_mb
    )
    store.close()
    pm.close()
    print("OK: nothing lost, memory flat" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
