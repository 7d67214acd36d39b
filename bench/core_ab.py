"""Row 1 of bench/core.py, this tree against a baseline, with the CPU each run cost.

Run: ``.venv/bin/python bench/core_ab.py --baseline SRC [--rounds 9] [--n 100000]
[--levels sandboxed,trusted] [--json]``, where SRC holds a ``wiseflow`` package (say,
``git archive <commit> src | tar -x -C /tmp/base``, then ``/tmp/base/src``).

Each round runs every (tree, level) once, the order of the two trees alternating between
rounds, each a fresh ``wiseflow run pipeline.toml --json`` of ``n`` generated records into a
fresh data dir (as row 1). Per run: wall seconds (spawn to exit) and CPU seconds (user +
system of the whole process tree: the host and every worker and zygote it reaped). Printed:
medians, and the median of each round's ratio baseline/this (paired runs see about the same
background load, so the ratio is the figure to trust on a busy machine). Only the host is
the baseline's: workers start isolated and import this install's wiseflow (as core.py).
A run that did not store every record is an error, never a number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core_processes import PIPELINE, BenchError, count_rows, log, wiseflow_argv, write_plugins


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(root: Path, level: str, n: int, src: Path | None) -> tuple[float, float]:
    """(wall s, CPU s) of one `wiseflow run` (``src``: the baseline's package folder)."""
    name = f"pipeline-{n}.toml"
    (root / name).write_text(PIPELINE.replace("{n}", str(n)))
    (root / f"{level}.toml").write_text(f'[policy]\nlevel = "{level}"\n')
    data = root / f"data-{level}"
    shutil.rmtree(data, ignore_errors=True)
    argv = [*wiseflow_argv(), "run", name, "--json", "--config", f"{level}.toml"]
    argv += ["--plugin-dir", "plugins", "--data-dir", str(data)]
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    cpu0, t0 = _children_cpu(), time.perf_counter()
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    try:
        stored = json.loads(done.stdout)["records"]["stored"]
    except (ValueError, KeyError, TypeError):
        stored = None
    if done.returncode != 0 or stored != n or count_rows(data / "wiseflow.db", "records") != n:
        raise BenchError(f"wiseflow run ({level}) stored {stored} of {n}: {done.stderr[-2000:]}")
    shutil.rmtree(data, ignore_errors=True)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="folder holding a wiseflow")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--levels", default="sandboxed,trusted")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    levels = args.levels.split(",")
    trees: dict[str, Path | None] = {"this": None, "baseline": args.baseline.resolve()}
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="wf-ab-") as tmp:
        root = Path(tmp)
        write_plugins(root)
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for level in levels:
                for tree in order:
                    wall, cpu = run_once(root, level, args.n, trees[tree])
                    got = samples.setdefault(f"{level} {tree}", {"wall": [], "cpu": []})
                    got["wall"].append(wall)
                    got["cpu"].append(cpu)
                    log(f"  round {r + 1}/{args.rounds}: {level} {tree}: {wall:.3f} s, "
                        f"cpu {cpu:.3f} s")  # fmt: skip
    report: dict[str, Any] = {"n": args.n, "rounds": args.rounds, "levels": {}}
    for level in levels:
        this, base = samples[f"{level} this"], samples[f"{level} baseline"]
        report["levels"][level] = {
            key: {
                "this": statistics.median(this[key]),
                "baseline": statistics.median(base[key]),
                "ratio": statistics.median(
                    [b / t for b, t in zip(base[key], this[key], strict=True)]
                ),
            }
            for key in ("wall", "cpu")
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for level, figures in report["levels"].items():
        w, c = figures["wall"], figures["cpu"]
        print(
            f"{level:9s} wall {w['this']:.3f} s ({args.n / w['this']:,.0f} rec/s) vs baseline "
            f"{w['baseline']:.3f} s ({args.n / w['baseline']:,.0f}); paired x{w['ratio']:.3f} | "
            f"cpu {c['this']:.3f} vs {c['baseline']:.3f} s; paired x{c['ratio']:.3f}"
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        log(f"error: {exc}")
        sys.exit(1)
