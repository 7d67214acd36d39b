"""The write-ahead log is copied back into the database by a thread of the store, not in
the writer's commits; closing the store ends that thread and leaves no log behind."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from wiseflow import Record
from wiseflow._store import DB_NAME, Store
from wiseflow._store._wal import WRITER_PAGES


def _in_database_file(db: Path, tmp: Path) -> int:
    """Records in the database file alone (a copy without its log): what was copied back."""
    tmp.mkdir()
    shutil.copy(db, tmp / DB_NAME)
    conn = sqlite3.connect(tmp / DB_NAME)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'records'").fetchone():
            return 0  # not even the schema was copied back
        return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])
    finally:
        conn.close()


def _recs(n: int) -> list[Record]:
    return [Record(id=f"r{i}", source="s", text="x" * 300) for i in range(n)]


def test_commits_are_copied_back_by_the_stores_thread(tmp_path: Path) -> None:
    before = threading.active_count()
    store = Store.open(tmp_path / "bg", commit_rows=50)
    assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WRITER_PAGES
    assert store.write_batch("s", _recs(50), None) == (50, 0)  # committed by size
    assert store._wal is not None and store._wal.wait(1, timeout=60)
    assert store._wal.copied > 0
    assert _in_database_file(store.path, tmp_path / "copy-bg") == 50
    store.close()
    assert threading.active_count() == before  # no commit timer, no checkpoint thread
    assert not Path(f"{store.path}-wal").exists()  # the last close removed the log


def test_without_it_the_commits_stay_in_the_log(tmp_path: Path) -> None:
    """The positive control: the same writes, no background thread, nothing copied back
    (the log is far below SQLite's own threshold)."""
    store = Store.open(tmp_path / "fg", commit_rows=50, background_checkpoints=False)
    assert store._wal is None
    assert store.write_batch("s", _recs(50), None) == (50, 0)
    assert _in_database_file(store.path, tmp_path / "copy-fg") == 0
    store.close()
    assert _in_database_file(store.path, tmp_path / "copy-closed") == 50


def test_a_closed_store_starts_no_thread(tmp_path: Path) -> None:
    """close() stops the thread before its own commit: a store that never committed rows
    during its life starts none, even though close commits them."""
    before = threading.active_count()
    store = Store.open(tmp_path, commit_rows=10**6, commit_seconds=3600)
    store.write_batch("s", _recs(3), None)
    store.close()
    assert threading.active_count() == before
    assert store._wal is not None and store._wal.runs == 0
