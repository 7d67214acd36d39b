"""The store's schema: a v3 database migrates to v4, and every index serves a query."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from wiseflow import Record
from wiseflow._store import SCHEMA_VERSION, Store
from wiseflow._store._schema import MIGRATIONS


def _v3(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    for script in MIGRATIONS[:3]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO records (source, id, title, time) VALUES ('s', 'old', 'kept', ?)",
        (datetime(2024, 1, 1, tzinfo=UTC).isoformat(),),
    )
    conn.close()


def _indexes(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        return {r[0] for r in conn.execute(sql)}
    finally:
        conn.close()


def test_v3_database_migrates_to_v4_dropping_unused_indexes(tmp_path: Path) -> None:
    """A v3 database loses the three record indexes no query uses, keeps its rows, and
    counts a record fetched again as a duplicate, not as new."""
    db = tmp_path / "wiseflow.db"
    _v3(db)
    assert {"records_time", "records_kind", "records_run"} <= _indexes(db)
    with Store.open(db) as store:
        assert store._query("PRAGMA user_version", ())[0][0] == SCHEMA_VERSION == 4
        (old,) = store.records("s")
        assert old.title == "kept"
        again = Record(id="old", source="s", title="kept", time=datetime(2024, 1, 1, tzinfo=UTC))
        assert store.write_batch("s", [again, Record(id="new", source="s")], None) == (1, 1)
        assert store.updated == 0
    assert _indexes(db) == {"dead_letters_run"}


def test_every_index_serves_a_query_and_no_keyed_read_scans(tmp_path: Path) -> None:
    """EXPLAIN QUERY PLAN over every statement the store runs (its reads and writes, the
    CLI's `runs` and `dead-letters`): keyed reads search, and each index is used."""
    store = Store.open(tmp_path)
    run = store.begin_run("p")
    store.write_batch("s", [Record(id=str(i), source="s") for i in range(3)], run, {"n": 3})
    store.dead_letter(run, "s", Record(id="x", source="s"), plugin="p", code="WF408", reason="r")
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    store.write_batch("s", [Record(id="3", source="s")], run, {"n": 4})
    store.runs()
    store.run(run)
    store.dead_letters(run)
    store.count("records", "s")
    store.checkpoint("s")
    list(store.iter_batches(["s"], 2))
    list(store.records("s"))
    store.forget_dead_letters([1])
    store.finish_run(run, "ok", {})
    store._conn.set_trace_callback(None)
    plans = {}
    for sql in statements:
        if sql.split()[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            rows = store._conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            plans[sql] = " | ".join(r[3] for r in rows)
    store.close()
    used = " ".join(plans.values())
    for index in _indexes(tmp_path / "wiseflow.db"):
        assert index in used, f"index {index} serves no query: {plans}"
    scans = [(sql, plan) for sql, plan in plans.items() if "SCAN records" in plan]
    assert not scans  # records are found by key, never by reading them all
    assert any("SEARCH records USING INTEGER PRIMARY KEY (rowid>?)" in p for p in plans.values())
