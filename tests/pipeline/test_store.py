"""The SQLite store: schema, migrations, batched writes with checkpoints, dead letters."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiseflow import Record, StoreError
from wiseflow._store import SCHEMA_VERSION, Store
from wiseflow._store._schema import MIGRATIONS


def _records(n: int, source: str = "s") -> list[Record]:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        Record(id=str(i), source=source, time=t, title=f"t{i}", data={"i": i}, tags=("a",))
        for i in range(n)
    ]


def test_schema_has_spec_tables_and_version(tmp_path: Path) -> None:
    """A new database holds the SPEC §5 tables, WAL mode and the current schema version."""
    store = Store.open(tmp_path)
    store.close()
    conn = sqlite3.connect(tmp_path / "wiseflow.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"records", "dead_letters", "checkpoints", "runs"} <= tables
    cols = [r[1] for r in conn.execute("PRAGMA table_info(records)")]
    assert cols == [
        "source", "id", "kind", "time", "title", "text", "url", "author", "tags", "data",
        "annotations", "run_id",
    ]  # fmt: skip
    pk = [r[1] for r in conn.execute("PRAGMA table_info(records)") if r[5]]
    assert pk == ["source", "id"]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_old_database_is_migrated_forward(tmp_path: Path) -> None:
    """A version-1 database (no indexes) is upgraded on open and keeps its rows."""
    db = tmp_path / "wiseflow.db"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.execute("INSERT INTO records (source, id) VALUES ('s', 'old')")
    conn.commit()
    conn.close()
    store = Store.open(db)
    assert store.count() == 1
    indexes = {r[0] for r in store._query("SELECT name FROM sqlite_master WHERE type='index'", ())}
    assert "dead_letters_run" in indexes  # made by version 2
    assert "records_time" not in indexes  # made by version 2, dropped by version 4
    assert store._query("PRAGMA user_version", ())[0][0] == SCHEMA_VERSION


def test_newer_database_is_refused(tmp_path: Path) -> None:
    """A database from a newer wiseflow is refused with WF502 rather than damaged."""
    db = tmp_path / "wiseflow.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError) as info:
        Store.open(db)
    assert info.value.code == "WF502"
    assert info.value.hint


def test_write_batch_counts_new_and_duplicates_and_keeps_checkpoint(tmp_path: Path) -> None:
    """Re-writing the same keys stores nothing new; the checkpoint is saved with the batch."""
    store = Store.open(tmp_path)
    run = store.begin_run("p")
    assert store.write_batch("s", _records(5), run, {"pos": 5}) == (5, 0)
    assert store.write_batch("s", _records(8), run, {"pos": 8}) == (3, 5)
    assert store.count() == 8
    assert store.checkpoint("s") == {"pos": 8}
    assert store.checkpoint("other") is None
    back = next(iter(store.records("s")))
    assert back.data == {"i": 0}
    assert back.tags == ("a",)
    assert back.time == datetime(2024, 1, 1, tzinfo=UTC)


def test_failed_batch_commits_neither_records_nor_checkpoint(tmp_path: Path) -> None:
    """A batch that fails mid-write leaves no records and no checkpoint behind."""
    store = Store.open(tmp_path)
    odd = Record(id="x", source="s")
    odd.data["bad"] = object()  # changed in place, past the constructor's check
    bad = [*_records(2), odd]
    with pytest.raises(TypeError):
        store.write_batch("s", bad, None, {"pos": 3})
    assert store.count() == 0
    assert store.checkpoint("s") is None


def test_dead_letters_and_runs_are_recorded(tmp_path: Path) -> None:
    """Dead letters keep plugin, code, reason and the record; runs keep status and summary."""
    store = Store.open(tmp_path)
    run = store.begin_run("p")
    store.dead_letter(run, "s", _records(1)[0], plugin="text", code="WF408", reason="bad")
    store.finish_run(run, "ok", {"records": {"stored": 0}})
    (dl,) = store.dead_letters(run)
    assert (dl["plugin"], dl["code"], dl["reason"], dl["record_id"]) == (
        "text",
        "WF408",
        "bad",
        "0",
    )
    assert dl["record"]["title"] == "t0"
    (r,) = store.runs()
    assert r["status"] == "ok"
    assert r["summary"] == {"records": {"stored": 0}}
    assert r["finished"]


def test_iter_batches_pages_every_record(tmp_path: Path) -> None:
    """Stored records come back in bounded batches, each exactly once."""
    store = Store.open(tmp_path)
    store.write_batch("s", _records(25), None)
    batches = list(store.iter_batches(["s"], 10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert len({r.id for b in batches for r in b}) == 25


def test_unwritable_location_is_a_store_error(tmp_path: Path) -> None:
    """Opening a store where no file can be created raises WF502 with a hint."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as info:
        Store.open(blocker / "sub" / "wiseflow.db")
    assert info.value.code == "WF502"


_text = st.text(max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rid=st.text(min_size=1, max_size=20),
    title=_text,
    tags=st.lists(_text, max_size=3),
    data=st.dictionaries(_text, _json, max_size=5),
    seconds=st.integers(0, 2**31),
)
def test_records_round_trip_through_the_store(
    tmp_path: Path, rid: str, title: str, tags: list[str], data: dict, seconds: int
) -> None:
    """Any record stored comes back equal (JSON data, tags, UTC time)."""
    store = Store.open(Path(tempfile.mkdtemp(dir=tmp_path)))
    try:
        r = Record(
            id=rid, source="s", title=title, tags=tuple(tags), data=data,
            time=datetime.fromtimestamp(seconds, UTC),
        )  # fmt: skip
        store.write_batch("s", [r], None)
        (back,) = list(store.records("s"))
        assert back == r
    finally:
        store.close()
