"""The SQLite store: records, dead letters, checkpoints and runs (SPEC §5).

The database is a documented interface; :data:`SCHEMA_VERSION` is kept in
``PRAGMA user_version`` and older databases are migrated forward on open. Modules:
``_store`` (the :class:`Store`), ``_open`` (the file, its SQLite settings, migration),
``_group`` (group commit), ``_wal`` (the log copied back in the background), ``_records``
(the upsert and its counts), ``_dead`` (dead letters, one per refused record), ``_runs``
(runs, and those a crash left open), ``_codec`` (rows to records and back), ``_schema``
(migrations), ``_hosts`` (which process runs a run).
"""

from __future__ import annotations

from ._dead import DeadLetter
from ._schema import SCHEMA_VERSION
from ._store import DB_NAME, Store

__all__ = ["DB_NAME", "SCHEMA_VERSION", "DeadLetter", "Store"]
