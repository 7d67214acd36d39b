"""Benchmark: ``Store.write_batch`` against raw sqlite3 ``executemany`` into the same schema.

100,000 records of ~300 bytes in 500-record batches, each with a checkpoint. Both sides
start from an empty database with the store's schema and indexes (``_schema.migrate``),
WAL and ``synchronous = NORMAL``. Raw: rows built from the records (the three JSON
columns encoded with msgspec), a plain ``INSERT`` per batch via ``executemany``, one
commit at the end: the floor any store must pay. Runs alternate so machine noise hits
both alike; medians are printed side by side with the ratio (goal: >= 0.6x raw).

    .venv/bin/python bench/store.py [--records 100000] [--batch 500] [--repeat 5] [--json]
    .venv/bin/python bench/store.py --steps    # each change of the store on its own
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from wiseflow import Record
from wiseflow._store import Store
from wiseflow._store._schema import migrate

_enc = msgspec.json.Encoder().encode
Clock = Callable[[], float]
_RAW = (
    "INSERT INTO records (source, id, kind, time, title, text, url, author, tags, data,"
    " annotations, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def make_records(n: int, source: str = "bench") -> list[Record]:
    """``n`` records of about 300 bytes each (as the store's columns), distinct ids."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    out = []
    for i in range(n):
        text = " ".join(words[(i + k) % len(words)] for k in range(28))[:175]
        out.append(
            Record(
                id=f"pkg{i % 977}/{i}",
                source=source,
                time=t0 + timedelta(seconds=i),
                title=f"package {i % 977} version 1.{i}",
                text=text,
                url=f"https://example.org/pkg{i % 977}/{i}",
                author="Maintainer <m@example.org>",
                tags=("security",) if i % 3 == 0 else (),
                data={"package": f"pkg{i % 977}", "n": i},
            )
        )
    return out


def _row(r: Record) -> tuple[object, ...]:
    t = r.time
    return (
        r.source, r.id, r.kind, t.isoformat() if t else None, r.title, r.text, r.url, r.author,
        _enc(r.tags).decode(), _enc(r.data).decode(), _enc(r.annotations).decode(), 1,
    )  # fmt: skip


def run_raw(
    path: Path, records: list[Record], batch: int, clock: Clock = time.perf_counter
) -> float:
    """Seconds for raw executemany of all ``records`` (one transaction, committed once)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn)
    t0 = clock()
    conn.execute("BEGIN IMMEDIATE")
    for i in range(0, len(records), batch):
        conn.executemany(_RAW, [_row(r) for r in records[i : i + batch]])
        conn.execute(
            "INSERT OR REPLACE INTO checkpoints (source, state, run_id, time) VALUES (?,?,?,?)",
            ("bench", _enc({"pos": i}).decode(), 1, "now"),
        )
    conn.execute("COMMIT")
    seconds = clock() - t0
    conn.close()
    return seconds


def run_store(
    path: Path, records: list[Record], batch: int, clock: Clock = time.perf_counter, **kw: int
) -> float:
    """Seconds for ``Store.write_batch`` of all ``records`` plus ``finish_run`` (committed)."""
    store = Store.open(path, **kw)
    run = store.begin_run("bench")
    t0 = clock()
    stored = 0
    for i in range(0, len(records), batch):
        stored += store.write_batch("bench", records[i : i + batch], run, {"pos": i})[0]
    store.finish_run(run, "ok", {})
    seconds = clock() - t0
    store.close()
    assert stored == len(records), stored
    return seconds


def run_store_again(path: Path, records: list[Record], batch: int) -> float:
    """Seconds to write the same records again (all duplicates) into a filled store."""
    store = Store.open(path)
    run = store.begin_run("bench")
    t0 = time.perf_counter()
    dups = 0
    for i in range(0, len(records), batch):
        dups += store.write_batch("bench", records[i : i + batch], run, {"pos": i})[1]
    store.finish_run(run, "ok", {})
    seconds = time.perf_counter() - t0
    store.close()
    assert dups == len(records), dups
    return seconds


_OLD_INDEXES = (
    "CREATE INDEX records_time ON records (time)",
    "CREATE INDEX records_kind ON records (kind)",
    "CREATE INDEX records_run ON records (run_id)",
)


def _select_known(self: Store, conn: sqlite3.Connection, rows: list) -> tuple[int, int]:
    """The write as it was before: look the batch's keys up, then upsert."""
    from wiseflow._store._records import UPSERT

    keys = {(r[0], r[1]) for r in rows}
    ids = [k[1] for k in keys]
    known = 0
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT count(*) FROM records WHERE source = ? AND id IN ({marks})"
        known += conn.execute(sql, (rows[0][0], *chunk)).fetchone()[0] if rows else 0
    before = conn.total_changes
    if rows:
        conn.executemany(UPSERT, rows)
    return len(keys) - known, conn.total_changes - before


def steps(n: int, batch: int, repeat: int) -> None:
    """Each change of the store on its own: the write path as it was, then one change at a
    time, against raw executemany into the same schema (old indexes, then without them).

    Timed in CPU seconds of this process (user + system, which includes the WAL writes):
    on a shared machine, less disturbed by other load than wall time.
    """
    from wiseflow._store import _store as _store_mod

    records = make_records(n)
    new_upsert, new_row = Store._upsert, _store_mod.encode_row
    variants = {
        "before (tx per batch, SELECT, 3x encode, 4 indexes)": (1, False, False, True),
        "+ rowid count instead of SELECT": (1, True, False, True),
        "+ group commit (10,000 rows)": (10_000, True, False, True),
        "+ encode once (empty columns, time)": (10_000, True, True, True),
        "+ schema v4 (3 record indexes dropped)": (10_000, True, True, False),
    }
    seen: dict[str, list[float]] = {k: [] for k in ("raw, 4 indexes", "raw, v4", *variants)}
    for _ in range(repeat):
        for old in (True, False):
            with tempfile.TemporaryDirectory(prefix="wf-bench-store-") as tmp:
                path = Path(tmp) / "raw.db"
                if old:
                    conn = sqlite3.connect(path)
                    conn.execute("PRAGMA journal_mode = WAL")
                    migrate(conn)
                    for sql in _OLD_INDEXES:
                        conn.execute(sql)
                    conn.close()
                key = "raw, 4 indexes" if old else "raw, v4"
                seen[key].append(n / run_raw(path, records, batch, time.process_time))
        for name, (rows, rowid, enc, indexes) in variants.items():
            Store._upsert = new_upsert if rowid else _select_known  # type: ignore[method-assign]
            _store_mod.encode_row = new_row if enc else _old_row
            with tempfile.TemporaryDirectory(prefix="wf-bench-store-") as tmp:
                db = Path(tmp) / "store.db"
                with Store.open(db) as store:
                    for sql in _OLD_INDEXES if indexes else ():
                        store._conn.execute(sql)
                cpu = run_store(db, records, batch, time.process_time, commit_rows=rows)
                seen[name].append(n / cpu)
    Store._upsert, _store_mod.encode_row = new_upsert, new_row  # type: ignore[method-assign]
    print(f"store write path, each change on its own, medians of {repeat} interleaved runs")
    print("(records per CPU second of this process):")
    for name, values in seen.items():
        print(f"  {name:<52} {statistics.median(values):>10,.0f} rec/s")


def _old_row(r: Record, run_id: int | None) -> tuple[object, ...]:
    row = _row(r)
    return (*row[:-1], run_id)


def measure(n: int, batch: int, repeat: int) -> dict[str, float]:
    """Medians (records/s) of ``repeat`` interleaved runs of each side."""
    records = make_records(n)
    seen: dict[str, list[float]] = {"raw": [], "store": [], "store_dup": []}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="wf-bench-store-") as tmp:
            seen["raw"].append(n / run_raw(Path(tmp) / "raw.db", records, batch))
            db = Path(tmp) / "store.db"
            seen["store"].append(n / run_store(db, records, batch))
            seen["store_dup"].append(n / run_store_again(db, records, batch))
    med = {k: statistics.median(v) for k, v in seen.items()}
    med["ratio"] = med["store"] / med["raw"]
    return med


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--steps", action="store_true", help="measure each change on its own")
    args = ap.parse_args()
    if args.steps:
        steps(args.records, args.batch, args.repeat)
        return 0
    med = measure(args.records, args.batch, args.repeat)
    if args.json:
        print(json.dumps(med))
        return 0
    size = sum(len(str(v)) for v in _row(make_records(1)[0]))
    print(
        f"store write path, {args.records:,} records (~{size} bytes) in batches of "
        f"{args.batch}, medians of {args.repeat} interleaved runs:"
    )
    print(f"  raw sqlite3 executemany   {med['raw']:>10,.0f} rec/s")
    print(f"  Store.write_batch         {med['store']:>10,.0f} rec/s   {med['ratio']:.2f}x raw")
    print(f"  Store.write_batch, again  {med['store_dup']:>10,.0f} rec/s   (all duplicates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
