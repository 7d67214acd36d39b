"""Benchmark: ``wiseflow run --watch`` against a plain run, and how long a reload takes.

1. Throughput: the same pipeline (a connector of N records, a sandboxed processor) run
   plain and watched (live stages, the between-batches hook, the folder watcher); time
   from the call until the progress callback sees all N stored. Runs alternate; medians.
2. Reload: in a watched run whose source is idle, a processor file is saved; the time until
   the new version is checked and started ("pending") and until it took over
   ("reloaded", at the next batch boundary: the next poll, every 0.1 s). Median of edits.

    .venv/bin/python bench/watch.py [--records 20000] [--repeat 3] [--edits 5]
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path

from wiseflow import RunResult, Watch, run_pipeline

GEN = """\
from wiseflow import Checkpoint, ConnectorPlugin, Record


class Gen(ConnectorPlugin):
    def fetch(self, state):
        if state:
            return
        for i in range({n}):
            yield Record(id=str(i), source="gen", title="item %d" % i)
        yield Checkpoint(state={{"done": True}})
"""
TAG = """\
from wiseflow import ProcessorPlugin


class Tag(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(title="{tag} " + r.title) for r in batch]
"""


def project(root: Path, n: int) -> Path:
    (root / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n')
    for name, kind, entry, code in (
        ("gen", "connector", "Gen", GEN.format(n=n)),
        ("tag", "processor", "Tag", TAG.replace("{tag}", "v1")),
    ):
        folder = root / "plugins" / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "{kind}"\n'
            f'entry = "plugin:{entry}"\n'
        )
        (folder / "plugin.py").write_text(code)
    (root / "p.toml").write_text(
        '[pipeline]\nname = "b"\nbatch_size = 500\n[[sources]]\nplugin = "gen"\n'
        '[[processors]]\nplugin = "tag"\n'
    )
    return root


def timed(root: Path, data: str, n: int, watched: bool) -> float:
    """Seconds from the call until all ``n`` records are stored."""
    stop = threading.Event()
    t0 = time.perf_counter()
    at: list[float] = []

    def progress(result: RunResult) -> None:
        if result.stored >= n and not at:
            at.append(time.perf_counter() - t0)
            stop.set()

    watch = Watch(poll_s=0.1, stop=stop) if watched else None
    run_pipeline(root / "p.toml", config=root / "wiseflow.toml", data_dir=root / data,
                 progress=progress, watch=watch)  # fmt: skip
    assert at, "not all records stored"
    return at[0]


def reloads(root: Path, edits: int) -> tuple[list[float], list[float]]:
    notices: queue.Queue[tuple[float, str]] = queue.Queue()
    watch = Watch(poll_s=0.1, notify=lambda m, f: notices.put((time.perf_counter(), f["event"])))
    t = threading.Thread(
        target=run_pipeline, args=(root / "p.toml",),
        kwargs={"config": root / "wiseflow.toml", "data_dir": root / "reload", "watch": watch},
    )  # fmt: skip
    t.start()

    def until(event: str) -> float:
        while True:
            when, got = notices.get(timeout=120)
            if got == event:
                return when

    until("watching")
    pending, swapped = [], []
    plugin = root / "plugins" / "tag" / "plugin.py"
    for i in range(edits):
        tmp = plugin.with_name(".plugin.py.tmp")
        tmp.write_text(TAG.replace("{tag}", f"v{i + 2}"))
        t0 = time.perf_counter()
        os.replace(tmp, plugin)
        pending.append(until("pending") - t0)
        swapped.append(until("reloaded") - t0)
    watch.stop.set()
    t.join(timeout=120)
    return pending, swapped


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--edits", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp), args.records)
        plain: list[float] = []
        watched: list[float] = []
        for i in range(args.repeat):
            plain.append(timed(root, f"plain{i}", args.records, watched=False))
            watched.append(timed(root, f"watched{i}", args.records, watched=True))
        p, w = statistics.median(plain), statistics.median(watched)
        n = args.records
        print(f"throughput, {n} records, sandboxed processor (median of {args.repeat}):")
        print(f"  plain   {p:7.3f} s  {n / p:10,.0f} records/s")
        print(f"  watched {w:7.3f} s  {n / w:10,.0f} records/s   ratio {p / w:.2f}x plain")
        pending, swapped = reloads(root, args.edits)
        print(f"reload after a save (median of {args.edits}):")
        print(f"  checked and started: {statistics.median(pending):.3f} s")
        print(f"  took over:           {statistics.median(swapped):.3f} s")


if __name__ == "__main__":
    main()
