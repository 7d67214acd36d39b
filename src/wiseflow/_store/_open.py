"""Opening the store's database: where the file is, how SQLite is set up, migration."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from .._contract._errors import StoreError
from ._schema import hint_for, migrate
from ._wal import WRITER_PAGES

__all__ = ["DB_NAME", "PAGE_SIZE", "connect"]

DB_NAME = "wiseflow.db"
#: Bytes per page of a database the store creates (bench: 4,096 -> 16,384 bytes, 100,000
#: records: 2.47 -> 2.14 µs CPU per record written, checkpoint 52 -> 30 ms).
PAGE_SIZE = 16_384


def _is_new(path: Path) -> bool:
    """Whether ``path`` holds no database yet (absent or empty, and no log beside it)."""
    try:
        if path.stat().st_size > 0:
            return False
    except FileNotFoundError:
        pass
    return not os.path.exists(f"{path}-wal")


#: How long opening waits for another connection switching the same new file to WAL.
WAL_SWITCH_S = 30.0


def _journal_wal(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode = WAL``, waiting for the lock it needs: SQLite answers
    "database is locked" at once (no busy handler) while another process or thread opens
    the same new file, so two runs started together on a fresh data dir would fail."""
    deadline = time.monotonic() + WAL_SWITCH_S
    pause = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def connect(path: str | Path, *, background_checkpoints: bool) -> tuple[sqlite3.Connection, Path]:
    """The connection to the database at ``path`` (created and migrated as needed), and the
    database file's path (``path``, or ``path / DB_NAME`` for a directory).

    Raises:
        StoreError: WF502 when the file cannot be opened or migrated.
    """
    p = Path(path)
    if p.is_dir() or not p.suffix:
        p = p / DB_NAME
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        new = _is_new(p)
        conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False, timeout=30.0)
        # A new database only (an existing one keeps its own): 16 KiB pages write records
        # ~13% faster than 4 KiB ones, and the log copies back in ~60% of the time.
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if new:
            # Switching a new, empty file to WAL goes through a rollback journal, synced
            # three times (~10-20 ms). Nothing in it can be lost: a crash of the OS right
            # now leaves an empty or unreadable new file, never a damaged store with data.
            # From the first write on the log is synced as always (below: NORMAL).
            conn.execute("PRAGMA synchronous = OFF")
        _journal_wal(conn)
        # WAL + NORMAL survives a killed process; only an OS crash may lose the tail.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if background_checkpoints:
            conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_PAGES}")
        migrate(conn)
    except (sqlite3.Error, OSError, RuntimeError) as exc:
        raise StoreError(
            f"cannot open store {p}: {exc}", plugin=str(p), hint=hint_for(exc, p)
        ) from None
    return conn, p
