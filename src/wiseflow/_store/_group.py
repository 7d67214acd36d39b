"""Group commit: consecutive writes share one transaction, committed by size, age or demand.

A commit per 500-record batch costs about a third of the store's write time (every commit
writes each touched page to the WAL again); sharing the transaction across batches pays it
once per :data:`COMMIT_ROWS` rows. Each write is a savepoint inside the shared transaction,
so a write that fails leaves nothing behind and the writes before it stay. A crash loses
the uncommitted writes together (records, dead letters and the checkpoints after them),
never a checkpoint without its records: the next run fetches them again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import final

__all__ = ["COMMIT_ROWS", "COMMIT_SECONDS", "Group"]

#: Commit once the open transaction holds this many rows (measured with bench/store.py:
#: 500 → 96k rec/s, 2,000 → 124k, 5,000 → 141k, 10,000 → 164k, 50,000 → 180k).
COMMIT_ROWS = 10_000
#: ... or once it is this old, however few rows it holds (a slow source's rows wait no longer).
COMMIT_SECONDS = 0.5
#: The longest wait for an ended timer thread to finish (it holds nothing by then).
JOIN_SECONDS = 10.0


@final
class Group:
    """The write transaction of one connection, shared by consecutive writes.

    Every method is called with :attr:`lock` held (the store's lock). A timer thread lives
    while a transaction is open: it commits it once it is :attr:`seconds` old, even when no
    write comes any more (a slow source), and ends with the transaction.
    """

    __slots__ = (
        "_ended",
        "_timer",
        "conn",
        "failed",
        "lock",
        "on_commit",
        "opened",
        "pending",
        "rows",
        "seconds",
        "wake",
    )

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.Lock,
        rows: int,
        seconds: float,
        on_commit: Callable[[], None] | None = None,
    ):
        self.conn = conn
        #: Called after a commit that held rows, with the lock held (it must not wait).
        self.on_commit = on_commit
        self.lock = lock
        self.wake = threading.Condition(lock)
        self.rows = rows
        self.seconds = seconds
        #: Rows written in the open transaction.
        self.pending = 0
        #: ``time.monotonic()`` when the open transaction began; 0.0 when none is open.
        self.opened = 0.0
        #: A timed commit that failed: raised by the next write or commit.
        self.failed: sqlite3.Error | None = None
        self._timer: threading.Thread | None = None
        #: A timer thread that ended (no transaction open), to be joined.
        self._ended: threading.Thread | None = None

    @contextmanager
    def write(self, rows: int = 0) -> Iterator[sqlite3.Connection]:
        """One write inside the open transaction (begun if none is): all of it, or none.

        ``rows`` counts toward :attr:`rows`; reaching it commits after this write.
        """
        self._raise_failed()
        conn = self.conn
        if not self.opened:
            if not conn.in_transaction:  # (one is when an interrupt came right after BEGIN)
                conn.execute("BEGIN IMMEDIATE")
            self.opened = time.monotonic()
            self._start_timer()
        conn.execute("SAVEPOINT unit")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
            else:  # SQLite rolled back the whole transaction itself (disk full, I/O error)
                self._closed()
            raise
        conn.execute("RELEASE unit")
        self.pending += rows
        if self.pending >= self.rows:
            self.commit()

    def commit(self) -> None:
        """Commit the open transaction, if one is open.

        Raises:
            sqlite3.Error: the commit failed; the transaction is rolled back, all of it.
        """
        self._raise_failed()
        self._commit()

    def _commit(self) -> None:
        if not self.conn.in_transaction:
            self._closed()
            return
        rows = self.pending
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._closed()
        if rows and self.on_commit is not None:
            self.on_commit()

    def stop(self) -> threading.Thread | None:
        """Stop the timer; the caller joins the thread returned once it released the lock."""
        timer, self._timer = self._timer, None
        self.wake.notify_all()
        if timer is None:
            timer, self._ended = self._ended, None
        return timer

    def _closed(self) -> None:
        self.opened = 0.0
        self.pending = 0
        self.wake.notify_all()  # the timer ends

    def _raise_failed(self) -> None:
        if self.failed is not None:
            failed, self.failed = self.failed, None
            self._join_ended()  # the timer whose commit failed: no thread outlives its error
            raise failed

    def _join_ended(self) -> None:
        """Join the timer thread that ended. Safe with the lock held: it set ``_ended``
        holding the lock, as the last thing it did with it."""
        ended, self._ended = self._ended, None
        if ended is not None:
            ended.join(JOIN_SECONDS)

    def _start_timer(self) -> None:
        if self._timer is None:
            self._join_ended()
            self._timer = threading.Thread(
                target=self._run_timer, name="wiseflow-store-commit", daemon=True
            )
            self._timer.start()
        else:
            self.wake.notify_all()

    def _run_timer(self) -> None:
        """Commit the open transaction once it is :attr:`seconds` old; end when none is open."""
        me = threading.current_thread()
        with self.wake:
            while self._timer is me:
                if not self.opened:
                    self._timer = None  # the next transaction starts another
                    self._ended = me  # joined by whoever sees it next (see _join_ended)
                    return
                left = self.opened + self.seconds - time.monotonic()
                if left > 0:
                    self.wake.wait(left)
                    continue
                try:
                    self._commit()
                except sqlite3.Error as exc:  # the next write or commit raises it
                    self.failed = exc
