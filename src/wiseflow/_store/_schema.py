"""Schema of the store and its forward migrations.

Each migration moves the database from version ``n - 1`` to ``n``; the current version
lives in ``PRAGMA user_version``. Add migrations, never edit a shipped one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "hint_for", "migrate"]

_V1 = """
CREATE TABLE IF NOT EXISTS records (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'item',
    time        TEXT,               -- ISO 8601, UTC
    title       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    url         TEXT,
    author      TEXT,
    tags        TEXT NOT NULL DEFAULT '[]',   -- JSON array
    data        TEXT NOT NULL DEFAULT '{}',   -- JSON object
    annotations TEXT NOT NULL DEFAULT '{}',   -- JSON object
    run_id      INTEGER,
    PRIMARY KEY (source, id)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    INTEGER,
    source    TEXT,
    record_id TEXT,
    plugin    TEXT,
    code      TEXT,
    reason    TEXT,
    record    TEXT,                 -- JSON: the record as it was when it failed
    time      TEXT
);
CREATE TABLE IF NOT EXISTS checkpoints (
    source TEXT PRIMARY KEY,
    state  TEXT NOT NULL,           -- JSON object
    run_id INTEGER,
    time   TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    run_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline TEXT NOT NULL,
    started  TEXT NOT NULL,
    finished TEXT,
    status   TEXT NOT NULL DEFAULT 'running',
    summary  TEXT                   -- JSON: the `run --json` document
);
"""

_V2 = """
CREATE INDEX IF NOT EXISTS records_time ON records (time);
CREATE INDEX IF NOT EXISTS records_kind ON records (kind);
CREATE INDEX IF NOT EXISTS records_run ON records (run_id);
CREATE INDEX IF NOT EXISTS dead_letters_run ON dead_letters (run_id);
"""

# Which process runs a run ("hostname:pid:start time"), so that a run left 'running' by a
# host that was killed can be told from one still going in another process.
_V3 = """
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE dead_letters ADD COLUMN traceback TEXT
"""

# Indexes that no query of wiseflow uses (EXPLAIN QUERY PLAN over the store's and the
# CLI's queries: records are read by (source, id), the primary key) cost ~20% of every
# write. dead_letters_run stays: `runs show` and `dead-letters RUN` look dead letters up
# by run. To query records by time or kind, create an index of your own.
_V4 = """
DROP INDEX IF EXISTS records_time;
DROP INDEX IF EXISTS records_kind;
DROP INDEX IF EXISTS records_run
"""

# A record refused again by the same plugin (fetched again after a kill, a full refresh, or
# a replay that failed) replaces its dead letter instead of adding one: found by this key.
_V5 = """
CREATE INDEX IF NOT EXISTS dead_letters_key ON dead_letters (source, record_id, plugin)
"""

#: ``MIGRATIONS[i]`` upgrades version ``i`` to ``i + 1``.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring ``conn``'s schema to :data:`SCHEMA_VERSION`; returns the version found.

    Raises:
        RuntimeError: the database is newer than this wiseflow.
    """
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema version {found} is newer than this wiseflow ({SCHEMA_VERSION})"
        )
    for version in range(found, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # read again under the write lock: another process (or thread) opening the
            # same new store may have migrated it since `found` was read
            if int(conn.execute("PRAGMA user_version").fetchone()[0]) > version:
                conn.execute("COMMIT")
                continue
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


_HINT = "check that the data dir is writable and not on a full disk; see `wiseflow doctor`"


def hint_for(exc: BaseException, path: Path) -> str:
    """A hint for a store error that matches what went wrong: a damaged file is not a
    permissions problem, a newer schema is neither."""
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"{path} is not a wiseflow database or is damaged; move it away "
            f"(`mv {path} {path}.broken`) and the next command that writes starts a new one"
        )
    if isinstance(exc, RuntimeError):  # written by a newer wiseflow (see migrate)
        return "upgrade wiseflow, or use another --data-dir"
    return _HINT
