"""A project for the replicas tests and the driver the kill test runs in a subprocess.

``python replicas_kit.py PROJECT DATA [--block-at K]`` runs ``PROJECT/p.toml`` and prints
``batch N`` after each stored batch, then ``done STORED DUPLICATES FETCHED``; with
``--block-at K`` it prints ``blocked`` after the K-th batch and waits there for the
test's SIGKILL (the batches after it are in flight in the replicas meanwhile).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

NUMS = """\
from wiseflow import Checkpoint, ConnectorPlugin, Record

class P(ConnectorPlugin):
    Config = dict

    def fetch(self, state):
        count = int(self.ctx.config.get("count", 100))
        for i in range(int((state or {}).get("next", 0)), count):
            yield Record(id=f"r{i:05d}", source=self.ctx.name, title=f"n {i}", data={"i": i})
            yield Checkpoint(state={"next": i + 1})
"""

# CPU-bound: a pure Python loop per record; crashes its worker on the record `crash_on`.
BURN = """\
import os
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    Config = dict

    def process(self, batch):
        work = int(self.ctx.config.get("work", 2000))
        crash_on = self.ctx.config.get("crash_on")
        out = []
        for r in batch:
            if r.id == crash_on:
                os._exit(3)
            acc = r.data["i"]
            for k in range(work):
                acc = (acc * 31 + k) % 1000003
            out.append(r.replace(annotations={"acc": acc, "by": self.ctx.name}))
        return out
"""

TALLY = """\
from wiseflow import AnalyzerPlugin

class P(AnalyzerPlugin):
    Config = dict

    def initialize(self, ctx):
        self.ctx = ctx
        self.n, self.total, self.ids = 0, 0, 0

    def analyze(self, batch):
        for r in batch:
            self.n += 1
            self.total += r.annotations["acc"]
            self.ids ^= hash(r.id) & 0xFFFFFFFF

    def result(self):
        return {"records": self.n, "total": self.total, "ids": self.ids}
"""

KINDS = {"nums": ("connector", NUMS), "burn": ("processor", BURN), "tally": ("analyzer", TALLY)}


def write_project(root: Path, level: str = "sandboxed") -> Path:
    """``root`` with wiseflow.toml (``level``) and the three plugins above."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "wiseflow.toml").write_text(
        f'[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "{level}"\n'
    )
    for name, (kind, code) in KINDS.items():
        folder = root / "plugins" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\nentry = "plugin:P"\n'
        )
        (folder / "plugin.py").write_text(code)
    return root


def write_pipeline(
    root: Path,
    *,
    replicas: int,
    count: int,
    batch: int,
    work: int = 2000,
    crash_on: str = "",
    name: str = "p.toml",
) -> Path:
    path = root / name
    path.write_text(
        textwrap.dedent(f"""\
        [pipeline]
        name = "replicas"
        batch_size = {batch}
        [[sources]]
        plugin = "nums"
        config = {{ count = {count} }}
        [[processors]]
        plugin = "burn"
        replicas = {replicas}
        config = {{ work = {work}, crash_on = "{crash_on}" }}
        [[analyzers]]
        plugin = "tally"
        """)
    )
    return path


def stored(data: Path) -> tuple[list[str], list[str], int]:
    """Stored ids (repeats kept), dead-lettered ids and the source's checkpoint ``next``."""
    conn = sqlite3.connect(data / "wiseflow.db")
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM records ORDER BY id")]
        dead = [r[0] for r in conn.execute("SELECT record_id FROM dead_letters ORDER BY 1")]
        row = conn.execute("SELECT state FROM checkpoints WHERE source = 'nums'").fetchone()
    finally:
        conn.close()
    return ids, dead, int(json.loads(row[0])["next"]) if row else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("project", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("--block-at", type=int, default=0)
    args = ap.parse_args()
    import wiseflow

    n = 0

    def progress(_: Any) -> None:
        nonlocal n
        n += 1
        print(f"batch {n}", flush=True)
        if n == args.block_at:
            print("blocked", flush=True)
            threading.Event().wait()  # until the test's SIGKILL

    result = wiseflow.run_pipeline(
        args.project / "p.toml",
        config=args.project / "wiseflow.toml",
        data_dir=args.data,
        progress=progress,
    )
    print(f"done {result.stored} {result.duplicates} {result.fetched}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
