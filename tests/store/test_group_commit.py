"""Group commit: batches share a transaction, counts stay exact, commits come by size, age,
and whenever another process must see the writes."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wiseflow import Record, StoreError
from wiseflow._store import Store


def _seen(db: Path, sql: str = "SELECT count(*) FROM records") -> int:
    """What another connection (another process) sees committed."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _checkpoint(db: Path) -> str | None:
    """The committed checkpoint of source ``s``, as another process sees it."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT state FROM checkpoints WHERE source = 's'").fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def _recs(*ids: str, title: str = "") -> list[Record]:
    return [Record(id=i, source="s", title=title) for i in ids]


_batches = st.lists(
    st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from(["", "x", "y"])), max_size=8),
    max_size=6,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=_batches)
def test_counts_are_exact_inside_one_transaction(tmp_path: Path, batches: list) -> None:
    """stored/duplicates/updated match a model of the table, for ids repeated inside a
    batch and across the batches of one open transaction."""
    table: dict[str, str] = {}
    updated = 0
    store = Store.open(Path(tempfile.mkdtemp(dir=tmp_path)), commit_rows=10**6, commit_seconds=3600)
    try:
        for batch in batches:
            new = changed = 0
            for rid, title in batch:
                if rid not in table:
                    new += 1
                elif table[rid] != title:
                    changed += 1
                table[rid] = title
            updated += changed
            records = [Record(id=rid, source="s", title=title) for rid, title in batch]
            assert store.write_batch("s", records, None) == (new, len(batch) - new)
            assert store.updated == updated
        assert {r.id: r.title for r in store.records("s")} == table
        assert _seen(store.path) == 0 or not batches  # nothing committed yet
    finally:
        store.close()
    assert _seen(store.path) == len(table)


def test_writes_are_committed_by_size_and_seen_by_own_reads_at_once(tmp_path: Path) -> None:
    """Other processes see a batch once the transaction holds commit_rows rows; reads
    through the store see it at once; finish_run commits the rest."""
    store = Store.open(tmp_path, commit_rows=5, commit_seconds=3600)
    db = store.path
    run = store.begin_run("p")
    assert _seen(db, "SELECT count(*) FROM runs WHERE status = 'running'") == 1
    store.write_batch("s", _recs("1", "2", "3"), run, {"n": 3})
    assert (store.count(), store.checkpoint("s")) == (3, {"n": 3})
    assert (_seen(db), _checkpoint(db)) == (0, None)
    store.write_batch("s", _recs("4", "5"), run, {"n": 5})  # 5 rows: committed
    assert (_seen(db), _checkpoint(db)) == (5, '{"n":5}')
    store.write_batch("s", _recs("6"), run, {"n": 6})
    store.dead_letter(run, "s", None, plugin="p", code="WF408", reason="r", record_id="7")
    assert (_seen(db), _checkpoint(db)) == (5, '{"n":5}')
    assert _seen(db, "SELECT count(*) FROM dead_letters") == 0
    store.finish_run(run, "ok", {})
    assert (_seen(db), _checkpoint(db)) == (6, '{"n":6}')
    assert _seen(db, "SELECT count(*) FROM dead_letters") == 1
    assert _seen(db, "SELECT count(*) FROM runs WHERE status = 'ok'") == 1
    store.close()


def test_a_slow_source_is_committed_by_age(tmp_path: Path) -> None:
    """A batch left in the open transaction is committed once it is commit_seconds old,
    with no further store call."""
    with Store.open(tmp_path, commit_rows=10**6, commit_seconds=0.05) as store:
        store.write_batch("s", _recs("1", "2"), None, {"n": 2})
        deadline = time.monotonic() + 60  # the timer commits after 0.05 s; this only bounds
        while _seen(store.path) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _seen(store.path) == 2
        assert _checkpoint(store.path) == '{"n":2}'


def test_a_failing_batch_is_rolled_back_alone(tmp_path: Path) -> None:
    """A batch that fails inside the shared transaction leaves nothing; the batches before
    it and their checkpoint stay and are committed."""
    store = Store.open(tmp_path, commit_rows=10**6, commit_seconds=3600)
    store._conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON records WHEN NEW.id = 'boom'"
        " BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    assert store.write_batch("s", _recs("1", "2"), None, {"n": 2}) == (2, 0)
    with pytest.raises(StoreError, match="boom"):
        store.write_batch("s", _recs("3", "boom"), None, {"n": 4})
    assert store.count() == 2
    assert store.checkpoint("s") == {"n": 2}
    assert store.write_batch("s", _recs("3"), None, {"n": 3}) == (1, 0)
    store.close()
    assert (_seen(store.path), _checkpoint(store.path)) == (3, '{"n":3}')


def test_close_commits_and_leaves_no_thread(tmp_path: Path) -> None:
    """close() commits the open transaction and joins the commit timer."""
    before = threading.active_count()
    store = Store.open(tmp_path, commit_rows=10**6, commit_seconds=3600)
    store.write_batch("s", _recs("1"), None)
    assert threading.active_count() == before + 1  # the timer of the open transaction
    store.close()
    assert threading.active_count() == before
    assert _seen(store.path) == 1


def test_new_rows_are_counted_even_at_the_largest_rowid(tmp_path: Path) -> None:
    """Near the largest rowid SQLite picks rowids at random: new rows are still counted."""
    store = Store.open(tmp_path)
    store._conn.execute(
        "INSERT INTO records (rowid, source, id) VALUES (?, 's', 'top')", (2**63 - 2,)
    )
    assert store.write_batch("s", _recs("a", "top", "b", "c"), None) == (3, 1)
    assert store.write_batch("s", _recs("a", "d"), None) == (1, 1)
    assert store.count() == 5
    store.close()


class _FailingCommit:
    """A connection whose COMMIT fails (as on a full disk); everything else passes through."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def test_a_failed_timed_commit_is_raised_by_the_next_write(tmp_path: Path) -> None:
    """When the timer's commit fails, its writes are rolled back together (records and
    checkpoint) and the next write says so, instead of the failure passing unseen."""
    store = Store.open(tmp_path, commit_rows=10**6, commit_seconds=0.01)
    real = store._group.conn
    store._group.conn = _FailingCommit(real)  # type: ignore[assignment]
    store.write_batch("s", _recs("1", "2"), None, {"n": 2})
    deadline = time.monotonic() + 60  # the timer fires after 0.01 s; this only bounds
    while store._group.failed is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(StoreError, match="disk is full") as info:
        store.write_batch("s", _recs("3"), None, {"n": 3})
    assert info.value.code == "WF502"
    assert (store.count(), store.checkpoint("s")) == (0, None)  # rolled back, together
    store._group.conn = real
    assert store.write_batch("s", _recs("3"), None, {"n": 3}) == (1, 0)
    store.close()
    assert (_seen(store.path), _checkpoint(store.path)) == (1, '{"n":3}')


def test_no_timer_thread_outlives_a_failed_timed_commit(tmp_path: Path) -> None:
    """The timer thread whose commit failed is joined before the failure is raised (and
    the store's close joins any that ended): none is left in threading.enumerate()."""
    store = Store.open(tmp_path, commit_rows=10**6, commit_seconds=0.01)
    real = store._group.conn
    store._group.conn = _FailingCommit(real)  # type: ignore[assignment]
    store.write_batch("s", _recs("1"), None, {"n": 1})
    timer = store._group._timer
    assert timer is not None and timer.name == "wiseflow-store-commit"
    deadline = time.monotonic() + 60  # the timer fires after 0.01 s; this only bounds
    while store._group.failed is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(StoreError, match="disk is full"):
        store.commit()
    assert timer not in threading.enumerate() and not timer.is_alive()
    # the same again, the failure left for close() to meet: it joins the ended timer too
    store.write_batch("s", _recs("2"), None, {"n": 2})
    second = store._group._timer
    assert second is not None and second is not timer
    deadline = time.monotonic() + 60
    while store._group.failed is None and time.monotonic() < deadline:
        time.sleep(0.01)
    store._group.conn = real
    store.close()
    assert second not in threading.enumerate() and not second.is_alive()


def test_a_batch_longer_than_one_statement_counts_exactly(tmp_path: Path) -> None:
    """1,234 rows are written as several statements of many rows each: a key repeated in
    the same statement or across two counts as a duplicate, each change as an update."""
    from wiseflow._store._records import ROWS_PER_STATEMENT

    first = [(f"r{i}", "") for i in range(1_000)]  # two statements of new keys
    # the third statement: r0 changed, the same again, changed again, r1 as it was ...
    again = [("r0", "changed"), ("r0", "changed"), ("r0", "again"), ("r1", "")]
    again += [(f"r{i}", "x" if i % 4 else "") for i in range(2, 462, 2)]
    rows = first + again
    assert len(rows) == 1_234 and len(rows) > 2 * ROWS_PER_STATEMENT
    recs = [Record(id=i, source="s", title=t) for i, t in rows]
    store = Store.open(tmp_path)
    try:
        assert store.write_batch("s", recs, None) == (1_000, 234)
        assert store.updated == 2 + sum(1 for _, t in again[4:] if t)
        titles = {r.id: r.title for r in store.records()}
        assert (len(titles), titles["r0"], titles["r1"], titles["r6"]) == (1_000, "again", "", "x")
    finally:
        store.close()
