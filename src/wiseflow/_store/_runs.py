"""The ``runs`` table: a run's row from its start to its end, and runs a crash left open.

A run is ``running`` from :func:`begin` until :func:`finish` records its status; a run
whose host process no longer exists stays ``running`` until the next open of the store
marks it ``crashed`` (:func:`crashed`, :func:`mark_crashed`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from ._hosts import host_alive, host_stamp

__all__ = ["RUNNING", "SELECT", "begin", "crashed", "finish", "mark_crashed"]

#: Every column :func:`._codec.decode_run` reads, in its order.
SELECT = "SELECT run_id, pipeline, started, finished, status, summary FROM runs"
#: The runs still open, with the host stamp of the process running each.
RUNNING = "SELECT run_id, host FROM runs WHERE status = 'running'"


def begin(conn: sqlite3.Connection, pipeline: str, now: str) -> int:
    """Insert a ``running`` run of ``pipeline``, stamped with this process; its ``run_id``."""
    cur = conn.execute(
        "INSERT INTO runs (pipeline, started, status, host) VALUES (?, ?, 'running', ?)",
        (pipeline, now, host_stamp(os.getpid())),
    )
    run_id = cur.lastrowid
    assert run_id is not None
    return run_id


def finish(conn: sqlite3.Connection, run_id: int, status: str, summary: str, now: str) -> None:
    """Record the end of a run: its status and its (encoded) summary document."""
    conn.execute(
        "UPDATE runs SET finished = ?, status = ?, summary = ? WHERE run_id = ?",
        (now, status, summary, run_id),
    )


def crashed(running: Sequence[tuple[Any, ...]]) -> list[int]:
    """Of the :data:`RUNNING` rows, the runs whose host process no longer exists.

    A run whose host is alive (another ``wiseflow run`` on the same database), or ran on
    another machine, is left alone.
    """
    return [run_id for run_id, host in running if not host_alive(host)]


def mark_crashed(conn: sqlite3.Connection, run_ids: Sequence[int], now: str) -> None:
    """Mark ``run_ids`` ``crashed`` (those still ``running``)."""
    conn.executemany(
        "UPDATE runs SET status = 'crashed', finished = ? WHERE run_id = ? AND status = 'running'",
        [(now, run_id) for run_id in run_ids],
    )
