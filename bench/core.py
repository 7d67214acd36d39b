"""The four goals of issue 11, measured side by side in one run (``make bench``).

Run: ``.venv/bin/python bench/core.py [--quick] [--json] [--skip-singer] [--baseline SRC]``.
Every figure is a
median over interleaved rounds, so that each contender sees the same background load; the
table gives each anchor's figure, wiseflow's ratio to it, the goal and whether it is met.
The verdict is a report, never an assertion: the exit status is 0 whether goals are met or
not, and non-zero only when a measurement could not be taken (a run that did not store every
record is an error, not a number).

1. 100,000 ~300-byte records from a generator into SQLite, whole process, spawn to exit:
   ``wiseflow run`` (sandboxed, trusted) against a Singer SDK tap piped into a Singer SDK SQL
   target (installed by this script into ~/.cache/wiseflow-bench/, never a project
   dependency) and against raw ``sqlite3`` executemany (with and without the store's indexes).
   1s: the same ``wiseflow run`` of a source yielding nothing (start to exit, seconds),
   against starting a Python that imports sqlite3.
2. ``Store.write_batch`` alone, 500-record batches, against raw ``sqlite3`` into the schema
   and indexes read from a database the Store created; the raw side gets rows pre-encoded.
3. One trusted call through ``PluginHandle.invoke`` against pluggy calling one hookimpl and
   a plain method call (µs per call: mean of a sample of many calls, median of samples).
4. A sandboxed round trip (``PluginHandle.invoke``; ``WorkerRunner.call`` alone) against a
   blocking pipe ping-pong between two processes (µs: median of round trips timed one by
   one, median of samples; the means are in ``--json`` under ``means``). Row 4b: the same
   while one busy-loop process per core runs (started and killed by the bench around each
   loaded round; idle and loaded rounds alternate), the honest case on a small machine
   doing other work: an idle CPU wakes slowly, a busy one must be preempted. A second
   anchor, never judged: the same ping-pong with each side polling up to 50 µs before it
   sleeps, as the sandbox waits (``_sandbox/_spin``): the floor of that way of waiting.

``--baseline SRC`` measures rows 1, 1s and 2 also with the wiseflow package in SRC (say,
``git archive <commit> src | tar -x -C /tmp/base``, then ``/tmp/base/src``), interleaved
with this one: before/after figures from one run. Only the host is the baseline's: workers
start isolated (``python -I``) and import this install's wiseflow.

Internal APIs are used through one small function per row (``_store_*``, ``_handle_*``), so
that a renamed internal needs one edit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from core_calls import (
    BUSY,
    conditions,
    per_call_us,
    pipe_ping_pong,
    plain_call,
    pluggy_call,
    round_trips,
)
from core_processes import (
    BASELINE,
    BATCH,
    N_RECORDS,
    SINGER_VERSION,
    BenchError,
    count_rows,
    items,
    log,
    measure_processes,
    record_bytes,
    write_plugins,
)
from core_table import build_report, print_report

from wiseflow import Record
from wiseflow._sandbox._spin import SPIN_S

# -- row 2: the store alone ----------------------------------------------------------------


def _store_open(path: Path) -> Any:
    from wiseflow._store import Store

    return Store.open(path)


def store_ddl(root: Path) -> tuple[str, list[str]]:
    """The records table and its indexes, as a database created by the Store has them."""
    _store_open(root / "schema").close()
    conn = sqlite3.connect(root / "schema" / "wiseflow.db")
    try:
        found = conn.execute(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'records' AND sql IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    table = [sql for kind, sql in found if kind == "table"]
    if len(table) != 1:
        raise BenchError("no records table in a database created by the Store")
    return table[0], [sql for kind, sql in found if kind == "index"]


def store_write(root: Path, batches: list[list[Record]]) -> float:
    """Records/s of ``Store.write_batch`` over ``batches`` into a fresh store."""
    path = root / "store"
    shutil.rmtree(path, ignore_errors=True)
    store = _store_open(path)
    try:
        run = store.begin_run("bench")
        t = time.perf_counter()
        for i, batch in enumerate(batches):
            last = i == len(batches) - 1
            store.write_batch("gen", batch, run, {"done": i} if last else None)
    finally:
        store.close()  # timed: a store that commits in groups commits the last one here
    seconds = time.perf_counter() - t
    n = sum(map(len, batches))
    if count_rows(path / "wiseflow.db", "records") != n:
        raise BenchError("Store.write_batch did not store every record")
    return n / seconds


def raw_write(root: Path, ddl: list[str], batches: list[list[tuple[Any, ...]]]) -> float:
    """Rows/s of raw executemany, one transaction per batch, WAL, synchronous=NORMAL."""
    db = root / "raw-store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for statement in ddl:
        conn.execute(statement)
    sql = (
        "INSERT INTO records (source, id, kind, time, title, text, url, author, tags, data,"
        " annotations, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    t = time.perf_counter()
    for batch in batches:
        conn.execute("BEGIN")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
    conn.close()
    seconds = time.perf_counter() - t
    return sum(map(len, batches)) / seconds


def store_inputs(n: int) -> tuple[list[list[Record]], list[list[tuple[Any, ...]]]]:
    """The items as Records (for the Store) and as the rows it writes (for raw sqlite3)."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    recs, rows = [], []
    for i, ti, tx, u, a, tg, t in items(n):
        fields = {"title": ti, "text": tx, "url": u, "author": a, "tags": tuple(tg), "time": t}
        recs.append(Record(id=i, source="gen", kind="article", **fields))
        rows.append(("gen", i, "article", t.isoformat(), ti, tx, u, a, dumps(tg), "{}", "{}", 1))
    cut = range(0, n, BATCH)
    return [recs[i : i + BATCH] for i in cut], [rows[i : i + BATCH] for i in cut]


# -- rows 3 and 4: one call ----------------------------------------------------------------


def _handle_start(root: Path, plugins: Path, level: str) -> tuple[Any, Any]:
    """A manager over the bench's plugin folder and a started handle of `benchping`."""
    from wiseflow._host._manager import PluginManager

    pm = PluginManager(
        plugin_dirs=[plugins],
        data_dir=root / f"pm-{level}",
        level=level,
        cache=False,
        entry_points=False,
    )
    return pm, pm.start("benchping")


def _handle_invoke(handle: Any) -> Callable[[], Any]:
    invoke = handle.invoke
    return lambda: invoke("ping", 1)


def _runner_call(handle: Any) -> Callable[[], Any]:
    call, timeout = handle.runner.call, 30.0
    return lambda: call("ping", [1], timeout)


# -- main ----------------------------------------------------------------------------------

RAW_STORE = "raw sqlite3, same schema and indexes"
PIPE = "blocking pipe ping-pong, two processes"
SPIN_PIPE = "pipe ping-pong, poll 50 us, then sleep"


def store_child(root: Path, n: int, src: Path | None) -> float:
    """``store_write`` in a fresh process (of the wiseflow in ``src``, if given)."""
    argv = [sys.executable, __file__, "--store-child", str(n), str(root)]
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise BenchError(f"Store.write_batch ({src or 'this wiseflow'}): {done.stderr[-2000:]}")
    return float(done.stdout)


def measure_store(
    root: Path, rounds: int, n: int, baseline: Path | None = None
) -> dict[str, list[float]]:
    """Each wiseflow in a fresh process of its own (so a baseline's runs alike), the raw
    anchor in this one."""
    table, indexes = store_ddl(root)
    _, rows = store_inputs(n)
    ours: dict[str, Path | None] = {"Store.write_batch": None}
    if baseline is not None:
        ours[f"Store.write_batch{BASELINE}"] = baseline
    samples: dict[str, list[float]] = {k: [] for k in [*ours, RAW_STORE]}
    for r in range(rounds):
        for label, src in ours.items():
            samples[label].append(store_child(root / label.replace(" ", "-"), n, src))
        samples[RAW_STORE].append(raw_write(root, [table, *indexes], rows))
        log(f"  round {r + 1}/{rounds}: Store.write_batch {samples['Store.write_batch'][-1]:,.0f}")
    return samples


def measure_calls(root: Path, plugins: Path, rounds: int, n: int) -> dict[str, list[float]]:
    """Row 3: mean µs per call over a sample of ``n`` calls. Row 4: the median of ``n // 5``
    round trips timed one by one (robust to the odd preemption; their mean is kept too)."""
    pm_t, trusted = _handle_start(root, plugins, "trusted")
    pm_s, sandboxed = _handle_start(root, plugins, "sandboxed")
    try:
        calls = {
            "plain method call": plain_call(),
            "pluggy, one hookimpl": pluggy_call(),
            "PluginHandle.invoke, trusted": _handle_invoke(trusted),
            "InProcessRunner.call alone": _runner_call(trusted),
        }
        trips: dict[str, Callable[[int], list[float]]] = {
            "PluginHandle.invoke, sandboxed": partial(round_trips, _handle_invoke(sandboxed)),
            "WorkerRunner.call alone": partial(round_trips, _runner_call(sandboxed)),
            PIPE: pipe_ping_pong,
            SPIN_PIPE: partial(pipe_ping_pong, spin=SPIN_S),
        }
        for fn in calls.values():  # warm up: lazy imports, caches, the worker's first calls
            per_call_us(fn, n // 10)
        for trip in trips.values():
            trip(n // 50)
        samples: dict[str, list[float]] = {k: [] for k in calls}
        for r in range(rounds):
            for label, fn in calls.items():
                samples[label].append(per_call_us(fn, n))
            for suffix, load in conditions(r):  # idle and under load, alternating first
                with load():
                    for label, trip in trips.items():
                        got = trip(n // 5)
                        samples.setdefault(label + suffix, []).append(statistics.median(got))
                        samples.setdefault(f"{label}{suffix} (mean)", []).append(
                            statistics.fmean(got)
                        )
            t, s, b = (
                samples[f"PluginHandle.invoke, {lv}"][-1]
                for lv in ("trusted", "sandboxed", f"sandboxed{BUSY}")
            )
            log(
                f"  round {r + 1}/{rounds}: invoke trusted {t:.2f} us, sandboxed {s:.1f} us"
                f" (loaded: {b:.1f} us)"
            )
        return samples
    finally:
        pm_t.close()
        pm_s.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, fewer calls")
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    ap.add_argument("--skip-singer", action="store_true", help="neither install nor run it")
    ap.add_argument(
        "--baseline",
        type=Path,
        metavar="SRC",
        help="also measure rows 1 and 2 with the wiseflow package in SRC (e.g. a `git "
        "archive` of another commit's src/), interleaved with this one",
    )
    ap.add_argument("--store-child", nargs=2, help=argparse.SUPPRESS)  # N ROOT: row 2's child
    args = ap.parse_args(argv)
    if args.store_child:
        n, where = int(args.store_child[0]), Path(args.store_child[1])
        where.mkdir(parents=True, exist_ok=True)
        print(store_write(where, store_inputs(n)[0]))
        return 0
    baseline = args.baseline.resolve() if args.baseline else None
    if baseline is not None and not (baseline / "wiseflow" / "__init__.py").is_file():
        print(f"error: {baseline} holds no wiseflow package", file=sys.stderr)
        return 2
    quick = args.quick
    rounds = {"process": 2, "store": 3, "call": 5} if quick else {"process": 5, "store": 5}
    rounds.setdefault("call", 15)
    samples: dict[str, list[float]] = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="wf-bench-core-") as tmp:
        root = Path(tmp)
        plugins = write_plugins(root)
        try:
            log("row 1: whole processes")
            got = measure_processes(
                root, store_ddl(root), rounds["process"], not args.skip_singer, baseline
            )
            samples.update(got["samples"])
            log("row 2: the store alone")
            n = 20_000 if quick else N_RECORDS
            samples.update(measure_store(root, rounds["store"], n, baseline))
            log("rows 3 and 4: one call")
            samples.update(measure_calls(root, plugins, rounds["call"], 5_000 if quick else 25_000))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    size, json_size = record_bytes()
    meta = {
        "load_average": (load, os.getloadavg()[0]),
        "cores": os.cpu_count(),
        "rounds": rounds,
        "record_bytes": size,
        "record_json_bytes": json_size,
        "singer_sdk": SINGER_VERSION,
        "baseline": str(baseline) if baseline else None,
        "errors": got["errors"],
    }
    report = build_report(samples, meta)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
