"""Benchmark: the debian-security pipeline end to end (examples/debian-security.toml).

Prints records/s, the record count, and peak RSS, for a cold run (empty store) and an
incremental re-run (nothing changed). ``--level local``: stages in-process (``LocalStage``)
on the engine alone; ``trusted``/``sandboxed``: ``wiseflow.run_pipeline``, as ``wiseflow
run`` (plugins started through the manager, in workers when sandboxed).

    .venv/bin/python bench/pipeline.py [--root /usr/share/doc] [--report report.html] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from wiseflow._pipeline import load_pipeline, local_stages, run_pipeline
from wiseflow._store import Store

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "debian-security.toml"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_child_rss_mb() -> float:
    """The largest peak RSS among finished worker processes (sandboxed level)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _run(pipeline, data: Path, report: str, level: str) -> dict:
    t0 = time.perf_counter()
    if level == "local":
        stages = local_stages(pipeline, data)
        store = Store.open(data)
        try:
            summary = run_pipeline(pipeline, store, *stages, report=report).to_dict()
        finally:
            for group in stages:
                for s in group:
                    s.close()
            store.close()
    else:  # what `wiseflow run` does: checks, plugins started (and stopped), store, run
        import wiseflow
        from wiseflow._policy._operator import OperatorConfig, Policy

        config = OperatorConfig(policy=Policy(level=level))
        result = wiseflow.run_pipeline(pipeline, config=config, data_dir=data, report=report)
        summary = result.to_dict()
    summary["wall_s"] = time.perf_counter() - t0
    return summary


def _compare(pipeline: Any, repeat: int) -> int:
    """Cold runs of both levels, interleaved so machine noise hits both alike."""
    times: dict[str, list[float]] = {"trusted": [], "sandboxed": []}
    records = 0
    for _ in range(repeat):
        for level, seen in times.items():
            with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp:
                summary = _run(pipeline, Path(tmp), "", level)
            seen.append(summary["wall_s"])
            records = summary["records"]["fetched"]
    med = {level: statistics.median(v) for level, v in times.items()}
    print(f"debian-security, {records:,} records, cold runs, medians of {repeat}:")
    for level, value in med.items():
        print(f"  {level:<10} {value:6.2f} s  {records / value:>9,.0f} records/s")
    print(f"  sandboxed / trusted = {med['sandboxed'] / med['trusted']:.2f}x (target <= 1.3x)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="/usr/share/doc")
    ap.add_argument("--report", default="", help="also write the report (timed separately)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--level",
        default="local",
        choices=["local", "trusted", "sandboxed"],
        help="local: stages in-process without the manager; trusted/sandboxed:"
        " wiseflow.run_pipeline (wall time then includes starting the plugins and workers)",
    )
    ap.add_argument(
        "--compare",
        type=int,
        default=0,
        metavar="N",
        help="run trusted and sandboxed alternately N times each; print medians and the ratio",
    )
    args = ap.parse_args()
    pipeline = load_pipeline(EXAMPLE)
    source = msgspec.structs.replace(pipeline.sources[0], config={"root": args.root})
    pipeline = msgspec.structs.replace(pipeline, sources=(source,))
    if args.compare:
        return _compare(pipeline, args.compare)
    files = len(list(Path(args.root).glob("*/changelog.Debian.gz")))
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp:
        data = Path(tmp)
        cold = _run(pipeline, data, "", args.level)
        rss_cold = _peak_rss_mb()
        warm = _run(pipeline, data, args.report, args.level)
        db_mb = (data / "wiseflow.db").stat().st_size / 2**20
    rec = cold["records"]
    out = {
        "changelog_files": files,
        "records": rec["fetched"],
        "stored": rec["stored"],
        "cold_seconds": round(cold["wall_s"], 2),
        "cold_records_per_s": round(rec["fetched"] / cold["wall_s"], 1),
        "stages": cold["stages"],
        "rerun_seconds": round(warm["wall_s"], 2),
        "rerun_fetched": warm["records"]["fetched"],
        "level": args.level,
        "peak_rss_mb": round(max(rss_cold, _peak_rss_mb()), 1),
        "peak_worker_rss_mb": round(_peak_child_rss_mb(), 1),
        "db_mb": round(db_mb, 1),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"debian-security over {args.root}: {files} changelog files, level {args.level}")
    print(
        f"  cold run : {rec['fetched']:,} records in {out['cold_seconds']} s "
        f"= {out['cold_records_per_s']:,} records/s (stored {rec['stored']:,})"
    )
    for name, s in cold["stages"].items():
        print(
            f"    {name:<11} {s['kind']:<9} {s['seconds']:>6} s"
            f"  {s['records_per_s'] or '':>10} rec/s"
        )
    print(
        f"  re-run   : {out['rerun_fetched']} records fetched in {out['rerun_seconds']} s"
        " (analyze = stored: analyzers re-read the store)"
    )
    print(
        f"  peak RSS : {out['peak_rss_mb']} MB host, {out['peak_worker_rss_mb']} MB largest worker"
        f"   database: {out['db_mb']} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
