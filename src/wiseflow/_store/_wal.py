"""WAL checkpoints off the writer's path: a thread of the store copies the log back.

In WAL mode every commit appends to ``wiseflow.db-wal``; a *checkpoint* copies those pages
into the database file (and syncs both). SQLite's own runs inside the commit that takes the
log past 1,000 pages, so the writer waits for it: about a third of the store's time in a
large run (bench/core.py). Here the writer's connection checkpoints itself only past
:data:`WRITER_PAGES` (a bound on the log should this thread fall behind or fail), and
after each commit that stored rows a background thread, on a connection of its own, runs
a ``PASSIVE`` checkpoint: it copies what it can without waiting for, or blocking, the
writer or any reader, and releases the GIL while it does.

Nothing changes for a crash: a checkpoint copies only committed pages, and SQLite
recovers one cut short (a killed process) from the log, which still holds them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import final

__all__ = ["WRITER_PAGES", "Checkpointer"]

log = logging.getLogger("wiseflow.store")

#: The writer's ``wal_autocheckpoint`` while a :class:`Checkpointer` runs (pages; 4 KiB each).
WRITER_PAGES = 16_384


@final
class Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on ``path`` after each :meth:`poke`.

    The thread starts on the first poke and ends at :meth:`stop`; pokes that come while a
    checkpoint runs are folded into the next one.
    """

    __slots__ = ("_due", "_path", "_stopped", "_thread", "_wake", "copied", "runs")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wake = threading.Condition(threading.Lock())
        self._due = False
        self._stopped = False
        self._thread: threading.Thread | None = None
        #: Pages of the log in the database after the latest checkpoint (tests, benches).
        self.copied = 0
        #: Checkpoints run (see :meth:`wait`).
        self.runs = 0

    def poke(self) -> None:
        """A commit stored rows: checkpoint soon (never waits)."""
        with self._wake:
            if self._stopped:
                return
            self._due = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="wiseflow-store-wal", daemon=True
                )
                self._thread.start()
            else:
                self._wake.notify()

    def stop(self) -> None:
        """End the thread (a checkpoint under way is finished first); later pokes do nothing."""
        with self._wake:
            self._stopped = True
            thread, self._thread = self._thread, None
            self._wake.notify()
        if thread is not None:
            thread.join()

    def wait(self, runs: int, timeout: float) -> bool:
        """Wait until ``runs`` checkpoints have run (or ``timeout`` seconds passed)."""
        with self._wake:
            return self._wake.wait_for(lambda: self.runs >= runs, timeout)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.debug("no background checkpoints for %s: %s", self._path, exc)
            return
        try:
            conn.execute("PRAGMA synchronous = NORMAL")
            while True:
                with self._wake:
                    while not (self._due or self._stopped):
                        self._wake.wait()
                    if self._stopped:
                        return
                    self._due = False
                try:
                    self.copied = self._checkpoint(conn)
                except sqlite3.Error as exc:  # the writer's own checkpoints still bound the log
                    log.debug("background checkpoint of %s failed: %s", self._path, exc)
                with self._wake:
                    self.runs += 1
                    self._wake.notify_all()
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> int:
        """One passive checkpoint; how many pages of the log are in the database now."""
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[2]) if row and row[2] > 0 else 0
