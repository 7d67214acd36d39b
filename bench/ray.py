"""Records/s of a CPU-bound processor at replicas 1, 2 and 4, local and on Ray (issue 14).

Starts a local Ray cluster (``ray start --head`` on 127.0.0.1, its own process group,
stopped at the end), then runs the same pipeline (a source and one sandboxed processor)
with the local executor and on the cluster, interleaved, each run in a fresh data dir.
Prints medians side by side: the whole run's records/s, the fixed cost of a run (seconds
until its first batch is stored: starting the workers, on Ray their actors too) and the
steady records/s from the first stored batch to the last (the pipeline's per-batch
progress), and Ray/local. Then one table: the CPU-bound processor's steady records/s at
each replica count, local and Ray, their ratio and the speed-up over replicas 1; and the
overhead of Ray against local at replicas 1, for the CPU-bound processor and for
``light`` (upper-cases titles, 5x the records: the relay's own cost per batch shows).

    python bench/ray.py [--records 4000] [--repeat 3] [--replicas 1,2,4] [--no-light]

``--replicas`` runs the CPU-bound processor at each count (``replicas = N``: N instances,
each its own worker, on Ray each its own actor too). On a machine of C cores the speed-up
stops near C (this one has 2, shared).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

# this file is called ray.py: its folder must not shadow the `ray` package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import wiseflow  # noqa: E402
from wiseflow._ray import ray_executor  # noqa: E402

SOURCE = """\
from wiseflow import Checkpoint, ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range({n}):
            yield Record(id=f"r{{i}}", source=self.ctx.name, title=f"title {{i}}", text="x" * 200)
        yield Checkpoint(state={{"done": True}})
"""
LIGHT = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(title=r.title.upper()) for r in batch]
"""
CPU = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        out = []
        for r in batch:
            h = 0
            for k in range(20000):
                h = (h * 31 + k) % 1000003
            out.append(r.annotate("h", h))
        return out
"""
PIPE = '[pipeline]\nname = "b"\nbatch_size = 100\n[[sources]]\nplugin = "src"\n'
PIPE += '[[processors]]\nplugin = "proc"\n'


def project(root: Path, proc: str, n: int, replicas: int = 1) -> Path:
    root.mkdir(parents=True)
    (root / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "sandboxed"\n'
    )
    for name, kind, code in (("src", "connector", SOURCE.format(n=n)), ("proc", "processor", proc)):
        folder = root / "plugins" / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\nentry = "plugin:P"\n'
        )
        (folder / "plugin.py").write_text(textwrap.dedent(code))
    (root / "p.toml").write_text(PIPE + (f"replicas = {replicas}\n" if replicas > 1 else ""))
    return root


def start_cluster(temp: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
            f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
            "--node-ip-address=127.0.0.1", f"--temp-dir={temp}", "--disable-usage-stats",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1.0).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("Ray could not start here")


def one(work: Path, proc: str, n: int, address: str | None, replicas: int = 1) -> dict[str, float]:
    """One run of ``n`` records (fresh project and data dir): its seconds (``run``), the
    seconds until its first batch was stored (``start``: workers, on Ray actors too), and
    the records/s from the first stored batch to the last (``steady``)."""
    root = project(Path(tempfile.mkdtemp(dir=work)) / "p", proc, n, replicas)
    kw: dict[str, Any] = {"config": root / "wiseflow.toml", "data_dir": root / ".wiseflow"}
    marks: list[tuple[float, int]] = []
    kw["progress"] = lambda view: marks.append((time.perf_counter(), view.stored))
    t0 = time.perf_counter()
    if address is None:
        res = wiseflow.run_pipeline(root / "p.toml", **kw)
    else:
        with ray_executor(address):
            res = wiseflow.run_pipeline(root / "p.toml", **kw)
    took = time.perf_counter() - t0
    assert res.stored == n, res
    (t1, s1), (t2, s2) = marks[0], marks[-1]
    steady = (s2 - s1) / (t2 - t1) if t2 > t1 else math.nan
    return {"run": took, "start": t1 - t0, "steady": steady}


def measure(
    work: Path, code: str, n: int, address: str, replicas: int, repeat: int
) -> dict[str, dict[str, float]]:
    """Per executor: the medians of :func:`one`'s figures; runs interleaved, local and Ray."""
    one(work, code, 100, address, replicas)  # warm: the actor class on the cluster
    got: dict[str, list[dict[str, float]]] = {"local": [], "ray": []}
    for _ in range(repeat):
        for ex, addr in (("local", None), ("ray", address)):
            got[ex].append(one(work, code, n, addr, replicas))
    return {
        ex: {k: statistics.median(r[k] for r in runs) for k in ("run", "start", "steady")}
        for ex, runs in got.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=4000, help="records of a CPU-bound run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--replicas", default="1,2,4", help="comma-separated replica counts of the processor"
    )
    ap.add_argument("--no-light", action="store_true", help="skip the light processor")
    args = ap.parse_args()
    counts = sorted({int(c) for c in args.replicas.split(",")} | {1})
    work = Path(tempfile.mkdtemp(prefix="wf-bench-ray-"))
    cluster, address = start_cluster(str(work / "ray"))
    try:
        n = args.records
        print(
            f"{n} records, batch 100, {args.repeat} runs each, local and Ray interleaved, "
            f"{os.cpu_count()} cores"
        )
        print(
            f"{'processor':<10}{'executor':<9}{'run rec/s':>11}{'start s':>9}{'steady rec/s':>14}"
        )
        cases = [("cpu", CPU, r) for r in counts]
        if not args.no_light:
            cases.insert(0, ("light", LIGHT, 1))
        got: dict[tuple[str, int], dict[str, dict[str, float]]] = {}
        for name, code, r in cases:
            label = name if r == 1 else f"{name} x{r}"
            size = n * 5 if name == "light" else n  # light: enough batches to time
            m = got[name, r] = measure(work, code, size, address, r, args.repeat)
            for ex in ("local", "ray"):
                row = m[ex]
                print(
                    f"{label:<10}{ex:<9}{size / row['run']:>11.0f}{row['start']:>9.2f}"
                    f"{row['steady']:>14.0f}"
                )
            print(f"{label:<10}ray/local steady: {m['ray']['steady'] / m['local']['steady']:.2f}")
        print(f"\nCPU-bound processor, steady records/s (medians of {args.repeat} runs)")
        heads = (("replicas", 10), ("local", 9), ("ray", 9), ("ray/local", 11))
        heads += (("local xN/x1", 13), ("ray xN/x1", 11))
        print("".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(heads)))
        base = got["cpu", 1]
        for r in counts:
            m = got["cpu", r]
            loc, ray = m["local"]["steady"], m["ray"]["steady"]
            print(
                f"{r:<10}{loc:>9.0f}{ray:>9.0f}{ray / loc:>11.2f}"
                f"{loc / base['local']['steady']:>13.2f}{ray / base['ray']['steady']:>11.2f}"
            )
        print("\noverhead of Ray against local at replicas 1 (ray/local; start: seconds)")
        for name in ("cpu", "light"):
            if (name, 1) not in got:
                continue
            m = got[name, 1]
            print(
                f"{name:<10}steady {m['ray']['steady'] / m['local']['steady']:.2f}x, "
                f"whole run {m['local']['run'] / m['ray']['run']:.2f}x, "
                f"start {m['local']['start']:.2f} s local, {m['ray']['start']:.2f} s Ray"
            )
    finally:  # the cluster's process group first, whatever else fails
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
