"""Benchmark: a CPU-bound processor at replicas = 1, 2 and 4 (local executor, SPEC §15).

Each configuration is a cold ``wiseflow.run_pipeline`` (plugins started through the
manager, a fresh store) of ``--records`` numbered records through ``burn``, a pure Python
loop of ``--work`` steps per record. Sandboxed replicas are worker processes of their own,
so they use every core; trusted replicas share the host process and its GIL, shown side
by side (``--no-trusted`` skips them). Configurations are interleaved, repeat by repeat,
so machine noise hits them alike; the table shows medians and the speed-up against
replicas = 1 of the same level, measured in the same run.

    .venv/bin/python bench/replicas.py [--repeat 5] [--records 400] [--work 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pipeline"))

from replicas_kit import write_pipeline, write_project  # noqa: E402

import wiseflow  # noqa: E402


def _once(project: Path, pipe: Path, records: int) -> float:
    """records/s of one cold run (wall time, plugins' start included)."""
    with tempfile.TemporaryDirectory(prefix="wf-bench-replicas-") as tmp:
        t0 = time.perf_counter()
        result = wiseflow.run_pipeline(pipe, config=project / "wiseflow.toml", data_dir=tmp)
        wall = time.perf_counter() - t0
    if not result.ok or result.stored != records:
        raise SystemExit(f"run failed: {result!r} {result.errors}")
    return records / wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--records", type=int, default=400)
    ap.add_argument("--work", type=int, default=100000, help="loop steps per record")
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--no-trusted", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    configs = [("sandboxed", n) for n in (1, 2, 4)]
    if not args.no_trusted:
        configs += [("trusted", n) for n in (1, 2)]
    rates: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="wf-bench-project-") as tmp:
        projects = {level: write_project(Path(tmp) / level, level) for level, _ in configs}
        pipes = {
            (level, n): write_pipeline(
                projects[level], replicas=n, count=args.records, batch=args.batch,
                work=args.work, name=f"p{n}.toml",
            )
            for level, n in configs
        }  # fmt: skip
        load0 = os.getloadavg()[0]
        for _ in range(args.repeat):
            for c in configs:
                rates[c].append(_once(projects[c[0]], pipes[c], args.records))
        load1 = os.getloadavg()[0]
    med = {c: statistics.median(v) for c, v in rates.items()}
    doc: dict[str, Any] = {
        "records": args.records,
        "work": args.work,
        "repeat": args.repeat,
        "cores": os.cpu_count(),
        "load_average": [round(load0, 2), round(load1, 2)],
        "records_per_s": {f"{lv}/{n}": round(v, 1) for (lv, n), v in med.items()},
        "speedup": {f"{lv}/{n}": round(v / med[(lv, 1)], 2) for (lv, n), v in med.items()},
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(
        f"CPU-bound processor, {args.records} records x {args.work:,} loop steps, batches of "
        f"{args.batch}, cold runs, medians of {args.repeat}; {os.cpu_count()} cores, "
        f"load average {load0:.2f} -> {load1:.2f} (other work skews this)"
    )
    print(f"  {'level':<10} {'replicas':>8} {'records/s':>10} {'vs 1 replica':>13}")
    for (level, n), value in med.items():
        print(f"  {level:<10} {n:>8} {value:>10,.1f} {value / med[(level, 1)]:>12.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
