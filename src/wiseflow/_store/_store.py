"""The :class:`Store`: one SQLite file, WAL, one writer, batches grouped per transaction."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

import msgspec

from .._contract._errors import StoreError
from .._contract._record import Record
from .._policy._redact import Redactor
from . import _dead, _runs
from ._codec import decode, decode_row, decode_run, encode, encode_row
from ._dead import DeadLetter
from ._group import COMMIT_ROWS, COMMIT_SECONDS, JOIN_SECONDS, Group
from ._open import DB_NAME, connect
from ._records import CHECKPOINT, upsert
from ._schema import hint_for
from ._wal import Checkpointer

__all__ = ["DB_NAME", "Store"]

#: The ``records`` columns :func:`._codec.decode_row` reads, in its order.
_COLUMNS = "source, id, kind, time, title, text, url, author, tags, data, annotations"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@final
class Store:
    """The pipeline store at ``<data_dir>/wiseflow.db`` (SPEC §5).

    Thread-safe: every call takes one lock, so the engine may write from its consumer
    thread while a progress display reads counts. Writes are grouped into transactions
    (see :meth:`commit`); a batch's checkpoint is committed with the records before it.
    Open with :meth:`open`.

    Example:
        >>> store = Store.open(tmp / "wiseflow.db")            # doctest: +SKIP
        >>> run = store.begin_run("demo")                       # doctest: +SKIP
        >>> store.write_batch("src", records, run, {"cursor": 3})  # doctest: +SKIP
        (2, 0)
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        commit_rows: int = COMMIT_ROWS,
        commit_seconds: float = COMMIT_SECONDS,
        wal: Checkpointer | None = None,
    ) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.Lock()
        self._wal = wal
        poke = wal.poke if wal is not None else None
        self._group = Group(conn, self._lock, max(1, commit_rows), commit_seconds, poke)
        #: Records fetched again with changed content, updated in place (since open).
        self.updated = 0
        #: Masks granted secrets in every row written (records, dead letters, runs).
        self.redactor: Redactor | None = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        commit_rows: int = COMMIT_ROWS,
        commit_seconds: float = COMMIT_SECONDS,
        background_checkpoints: bool = True,
    ) -> Store:
        """Open (creating and migrating as needed) the database at ``path``.

        ``path`` may be the database file or a directory (existing, or a path without a
        suffix), which then holds ``wiseflow.db``. Writes share one transaction until it
        holds ``commit_rows`` rows or is ``commit_seconds`` old (see :meth:`commit`).
        The write-ahead log is copied back into the database by a thread of the store
        (see ``_wal``); ``background_checkpoints=False``: by SQLite alone, in the commits.

        Raises:
            StoreError: WF502 when the file cannot be opened or migrated.
        """
        conn, p = connect(path, background_checkpoints=background_checkpoints)
        wal = Checkpointer(p) if background_checkpoints else None
        store = cls(conn, p, commit_rows=commit_rows, commit_seconds=commit_seconds, wal=wal)
        store.mark_crashed()
        return store

    def commit(self) -> None:
        """Commit what the open transaction holds now, so other processes see it.

        Writes are grouped: :meth:`write_batch`, :meth:`dead_letter` and the like join one
        transaction, committed once it holds ``commit_rows`` rows or is ``commit_seconds``
        old, and always by :meth:`begin_run`, :meth:`finish_run` and :meth:`close`. Reads
        through this store see every write at once.

        Raises:
            StoreError: WF502 when the commit fails (what it held is rolled back, together).
        """
        self._commit(stop=False)

    def close(self) -> None:
        """Commit, then close the connection (idempotent)."""
        if self._wal is not None:
            self._wal.stop()  # the connection's close checkpoints what is left
        try:
            self._commit(stop=True)
        except StoreError:
            pass  # the connection goes away: nothing more can be done with it
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    def _commit(self, *, stop: bool) -> None:
        """Commit; with ``stop``, also end the commit timer (joined, so no thread stays)."""
        timer = None
        with self._lock:
            try:
                self._group.commit()
            except sqlite3.Error as exc:
                raise self._error("commit", exc) from None
            finally:
                if stop:
                    timer = self._group.stop()
        if timer is not None:
            timer.join(JOIN_SECONDS)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(
            f"store {self.path}: {what} failed: {exc}",
            plugin=str(self.path),
            hint=hint_for(exc, self.path),
        )

    @contextmanager
    def _tx(self, what: str, rows: int = 0) -> Iterator[sqlite3.Connection]:
        """One write, all of it or none, in the open group transaction (see :meth:`commit`)."""
        with self._lock:
            try:
                with self._group.write(rows) as conn:
                    yield conn
            except sqlite3.Error as exc:
                raise self._error(what, exc) from None

    # -- runs ------------------------------------------------------------------------------

    def begin_run(self, pipeline: str) -> int:
        """Record the start of a run of ``pipeline``; returns its ``run_id``."""
        with self._tx("begin run") as conn:
            run_id = _runs.begin(conn, pipeline, _now())
        self._commit(stop=False)  # other processes see the run as running
        return run_id

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        """Record the end of a run with its status and summary document.

        Commits the run's last writes with it, and stops the commit timer until the next write.
        """
        with self._tx("finish run") as conn:
            _runs.finish(conn, run_id, status, self._clean(encode(summary)), _now())
        self._commit(stop=True)

    def mark_crashed(self) -> list[int]:
        """Runs left ``running`` by a host process that no longer exists → ``crashed``.

        A run whose host is alive (another ``wiseflow run`` on the same database), or ran on
        another machine, is left alone. Returns the run ids marked.
        """
        dead = _runs.crashed(self._query(_runs.RUNNING, ()))
        if dead:
            with self._tx("mark crashed runs") as conn:
                _runs.mark_crashed(conn, dead, _now())
            self._commit(stop=False)
        return dead

    def run(self, run_id: int) -> dict[str, Any] | None:
        """One run (as :meth:`runs` lists them), or None."""
        rows = self._query(_runs.SELECT + " WHERE run_id = ?", (run_id,))
        return decode_run(rows[0]) if rows else None

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        rows = self._query(_runs.SELECT + " ORDER BY run_id DESC LIMIT ?", (limit,))
        return [decode_run(row) for row in rows]

    def _clean(self, text: str) -> str:
        return self.redactor.text(text) if self.redactor else text

    # -- records and checkpoints -------------------------------------------------------------

    def write_batch(
        self,
        source: str,
        records: Sequence[Record],
        run_id: int | None,
        checkpoint: dict[str, Any] | None = None,
        dead: Sequence[DeadLetter] = (),
    ) -> tuple[int, int]:
        """Store ``records``, the ``dead`` letters of their batch and, after them in the same
        transaction, ``source``'s checkpoint.

        A record already stored under the same ``(source, id)`` is never stored twice: it is
        updated in place when its content changed (counted in :attr:`updated`), else left.
        The write joins the open group transaction (see :meth:`commit`): the checkpoint is
        committed with the records before it or not at all.

        Returns:
            ``(stored, duplicates)``: how many were new and how many were already there.
        """
        return self.write_rows(source, self.rows(records, run_id), run_id, checkpoint, dead)

    def rows(self, records: Iterable[Record], run_id: int | None) -> list[tuple[Any, ...]]:
        """The ``records`` rows of ``records`` as :meth:`write_rows` takes them: encoded,
        granted secrets masked. Any thread may encode while another writes.

        Raises:
            TypeError, ValueError, msgspec.EncodeError: a record does not encode (see
            :meth:`encode_error`).
        """
        rows = [encode_row(r, run_id) for r in records]
        if self.redactor:  # one scan of the batch; rows are rewritten only when a secret is in
            rows = self.redactor.rows(rows)
        return rows

    def write_rows(
        self,
        source: str,
        rows: list[tuple[Any, ...]],
        run_id: int | None,
        checkpoint: dict[str, Any] | None = None,
        dead: Sequence[DeadLetter] = (),
    ) -> tuple[int, int]:
        """:meth:`write_batch` of rows made by :meth:`rows`."""
        state = self._clean(encode(checkpoint)) if checkpoint is not None else None
        with self._tx("write batch", len(rows)) as conn:
            fresh, changed = self._upsert(conn, rows)
            if dead:  # committed with the checkpoint that moves past them, or not at all
                self._insert_dead(conn, run_id, dead)
            if state is not None:
                self._save_checkpoint(conn, source, state, run_id)
        self.updated += max(0, changed - fresh)
        return fresh, len(rows) - fresh

    def _upsert(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> tuple[int, int]:
        return upsert(conn, rows)

    def _save_checkpoint(
        self, conn: sqlite3.Connection, source: str, state: str, run_id: int | None
    ) -> None:
        """Write ``source``'s checkpoint (after its batch's records, in their transaction)."""
        conn.execute(CHECKPOINT, (source, state, run_id, _now()))

    @staticmethod
    def encode_error(record: Record) -> str | None:
        """Why ``record`` cannot be stored (its fields do not encode as JSON, or a text is
        no UTF-8: a lone surrogate), or None."""
        try:
            for cell in encode_row(record, None):
                if type(cell) is str:
                    cell.encode()  # what SQLite is handed; a lone surrogate raises
        except (TypeError, ValueError, msgspec.EncodeError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def checkpoint(self, source: str) -> dict[str, Any] | None:
        """The last committed checkpoint state of ``source``, or ``None``."""
        rows = self._query("SELECT state FROM checkpoints WHERE source = ?", (source,))
        if not rows:
            return None
        state = decode(rows[0][0])
        return state if isinstance(state, dict) else None

    def clear_checkpoint(self, source: str) -> None:
        """Forget ``source``'s checkpoint (a full refresh from the next run on)."""
        with self._tx("clear checkpoint") as conn:
            conn.execute("DELETE FROM checkpoints WHERE source = ?", (source,))
        self._commit(stop=False)

    def dead_letter(
        self,
        run_id: int | None,
        source: str,
        record: Record | None,
        *,
        plugin: str,
        code: str,
        reason: str,
        record_id: str | None = None,
        traceback: str | None = None,
    ) -> None:
        """Store one record that could not be processed, with who refused it and why."""
        self.add_dead_letters(
            run_id, [DeadLetter(source, record, plugin, code, reason, record_id, traceback)]
        )

    def add_dead_letters(self, run_id: int | None, letters: Sequence[DeadLetter]) -> None:
        """Store ``letters`` (one per source, record and plugin: a later one replaces)."""
        with self._tx("dead letter") as conn:
            self._insert_dead(conn, run_id, letters)

    def _insert_dead(
        self, conn: sqlite3.Connection, run_id: int | None, letters: Sequence[DeadLetter]
    ) -> None:
        now = _now()
        rows = [letter.row(run_id, now) for letter in letters]
        if self.redactor:
            rows = self.redactor.rows(rows)
        _dead.insert(conn, rows)

    def forget_dead_letters(self, seqs: Sequence[int]) -> None:
        """Remove dead letters by ``seq`` (replayed: stored, or dead-lettered anew)."""
        if not seqs:
            return
        with self._tx("forget dead letters") as conn:
            conn.executemany("DELETE FROM dead_letters WHERE seq = ?", [(s,) for s in seqs])

    # -- reading -----------------------------------------------------------------------------

    def count(self, table: str = "records", source: str | None = None) -> int:
        """Rows in ``table`` (``records`` or ``dead_letters``), optionally of one source."""
        if table not in ("records", "dead_letters", "checkpoints", "runs"):
            raise StoreError(f"unknown table {table!r}", hint="use records or dead_letters")
        if source is None:
            return int(self._query(f"SELECT count(*) FROM {table}", ())[0][0])  # noqa: S608
        sql = f"SELECT count(*) FROM {table} WHERE source = ?"  # noqa: S608
        return int(self._query(sql, (source,))[0][0])

    def records(self, source: str | None = None) -> Iterator[Record]:
        """Stored records, decoded (all, or of one source), in key order."""
        sql = f"SELECT {_COLUMNS} FROM records"  # noqa: S608 - constant names
        args: tuple[Any, ...] = ()
        if source is not None:
            sql += " WHERE source = ?"
            args = (source,)
        for row in self._query(sql + " ORDER BY source, id", args):
            yield decode_row(row)

    def iter_batches(self, sources: Sequence[str], batch_size: int) -> Iterator[list[Record]]:
        """Stored records of ``sources`` in batches, paged by key so memory stays bounded."""
        for source in sources:
            last = ""
            while True:
                rows = self._query(
                    f"SELECT {_COLUMNS} FROM records WHERE source = ? AND id > ?"  # noqa: S608
                    " ORDER BY id LIMIT ?",
                    (source, last, batch_size),
                )
                if not rows:
                    break
                last = rows[-1][1]
                yield [decode_row(row) for row in rows]

    def dead_letters(self, run_id: int | None = None) -> list[dict[str, Any]]:
        """Dead letters (all, or of one run), oldest first."""
        if run_id is None:
            rows = self._query(_dead.SELECT + " ORDER BY seq", ())
        else:
            rows = self._query(_dead.SELECT + " WHERE run_id = ? ORDER BY seq", (run_id,))
        return [_dead.as_dict(row) for row in rows]

    def _query(self, sql: str, args: Iterable[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(
                    f"store {self.path}: query failed: {exc}",
                    plugin=str(self.path),
                    hint=hint_for(exc, self.path),
                ) from None
