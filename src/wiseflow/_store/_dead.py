"""The ``dead_letters`` table: a refused record's row, one per (source, record, plugin).

A record refused again (fetched again on the next run, or replayed and refused anew)
replaces its earlier dead letter, so it is listed and replayed once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from .._contract._record import Record
from ._codec import decode, encode

__all__ = ["SELECT", "DeadLetter", "as_dict", "insert"]

_COLUMNS = (
    "seq", "run_id", "source", "record_id", "plugin", "code", "reason", "record", "time",
    "traceback",
)  # fmt: skip
#: Every column of the table, in the order :func:`as_dict` reads them.
SELECT = f"SELECT {', '.join(_COLUMNS)} FROM dead_letters"  # noqa: S608 - constant names
_INSERT = (
    "INSERT INTO dead_letters (run_id, source, record_id, plugin, code, reason, record, time,"
    " traceback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class DeadLetter(NamedTuple):
    """One record a stage could not take, with who refused it and why.

    ``record`` is None when only its id is known (``record_id`` then names it).
    """

    source: str
    record: Record | None
    plugin: str
    code: str
    reason: str
    record_id: str | None = None
    traceback: str | None = None

    def row(self, run_id: int | None, now: str) -> tuple[Any, ...]:
        """The ``dead_letters`` row (without its ``seq``)."""
        record = self.record
        rid = self.record_id if self.record_id is not None else (record.id if record else None)
        body = encode(record) if record is not None else None
        return (run_id, self.source, rid, self.plugin, self.code, self.reason, body, now,
                self.traceback)  # fmt: skip


def insert(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write dead-letter rows (:meth:`DeadLetter.row`, in the caller's transaction).

    The latest refusal of a (source, record, plugin) replaces earlier ones, stored or in
    ``rows``; a letter without a record id (the id itself was refused) is always added.
    """
    keys = {(r[1], r[2], r[3]): None for r in rows if r[2] is not None}
    if keys:
        conn.executemany(
            "DELETE FROM dead_letters WHERE source = ? AND record_id = ? AND plugin = ?",
            list(keys),
        )
        rows = list({(r[1], r[2], r[3]) if r[2] is not None else i: r
                     for i, r in enumerate(rows)}.values())  # fmt: skip
    conn.executemany(_INSERT, rows)


def as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row read with :data:`SELECT` as a dict, its ``record`` decoded (or None)."""
    item = dict(zip(_COLUMNS, row, strict=True))
    item["record"] = decode(item["record"]) if item["record"] else None
    return item
