"""The :class:`Store`: one SQLite file, WAL, one writer, batched writes."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

import msgspec

from .._errors import StoreError
from .._record import Record
from .._redact import Redactor
from ._schema import migrate

__all__ = ["DB_NAME", "Store"]

DB_NAME = "wiseflow.db"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode
_HINT = "check that the data dir is writable and not on a full disk; see `wiseflow doctor`"


def _hint_for(exc: BaseException, path: Path) -> str:
    """A hint that matches what went wrong: a damaged file is not a permissions problem."""
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"{path} is not a wiseflow database or is damaged; move it away "
            f"(`mv {path} {path}.broken`) and the next command that writes starts a new one"
        )
    if isinstance(exc, RuntimeError):  # written by a newer wiseflow (see _schema.migrate)
        return "upgrade wiseflow, or use another --data-dir"
    return _HINT


# A record fetched again under the same (source, id) is one row: updated in place when its
# content changed (run_id then names the run that changed it), left alone otherwise.
_INSERT = """
INSERT INTO records (source, id, kind, time, title, text, url, author, tags, data,
                     annotations, run_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(source, id) DO UPDATE SET
    kind = excluded.kind, time = excluded.time, title = excluded.title,
    text = excluded.text, url = excluded.url, author = excluded.author,
    tags = excluded.tags, data = excluded.data, annotations = excluded.annotations,
    run_id = excluded.run_id
WHERE records.kind IS NOT excluded.kind OR records.time IS NOT excluded.time
    OR records.title IS NOT excluded.title OR records.text IS NOT excluded.text
    OR records.url IS NOT excluded.url OR records.author IS NOT excluded.author
    OR records.tags IS NOT excluded.tags OR records.data IS NOT excluded.data
    OR records.annotations IS NOT excluded.annotations
"""
_CHECKPOINT = (
    "INSERT INTO checkpoints (source, state, run_id, time) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(source) DO UPDATE SET state = excluded.state, run_id = excluded.run_id,"
    " time = excluded.time"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _row(record: Record, run_id: int | None) -> tuple[Any, ...]:
    t = record.time
    return (
        record.source,
        record.id,
        record.kind,
        t.isoformat() if t is not None else None,
        record.title,
        record.text,
        record.url,
        record.author,
        _encode(record.tags).decode(),
        _encode(record.data).decode(),
        _encode(record.annotations).decode(),
        run_id,
    )


@final
class Store:
    """The pipeline store at ``<data_dir>/wiseflow.db`` (SPEC §5).

    Thread-safe: every call takes one lock, so the engine may write from its consumer
    thread while a progress display reads counts. Open with :meth:`open`.

    Example:
        >>> store = Store.open(tmp / "wiseflow.db")            # doctest: +SKIP
        >>> run = store.begin_run("demo")                       # doctest: +SKIP
        >>> store.write_batch("src", records, run, {"cursor": 3})  # doctest: +SKIP
        (2, 0)
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.Lock()
        #: Records fetched again with changed content, updated in place (since open).
        self.updated = 0
        #: Masks granted secrets in every row written (records, dead letters, runs).
        self.redactor: Redactor | None = None

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open (creating and migrating as needed) the database at ``path``.

        ``path`` may be the database file or a directory (existing, or a path without a
        suffix), which then holds ``wiseflow.db``.

        Raises:
            StoreError: WF502 when the file cannot be opened or migrated.
        """
        p = Path(path)
        if p.is_dir() or not p.suffix:
            p = p / DB_NAME
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(p, isolation_level=None, check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL survives a killed process; only an OS crash may lose the tail.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            raise StoreError(
                f"cannot open store {p}: {exc}", plugin=str(p), hint=_hint_for(exc, p)
            ) from None
        store = cls(conn, p)
        store.mark_crashed()
        return store

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"store {self.path}: {what} failed: {exc}",
                    plugin=str(self.path),
                    hint=_hint_for(exc, self.path),
                ) from None

    # -- runs ------------------------------------------------------------------------------

    def begin_run(self, pipeline: str) -> int:
        """Record the start of a run of ``pipeline``; returns its ``run_id``."""
        with self._tx("begin run") as conn:
            cur = conn.execute(
                "INSERT INTO runs (pipeline, started, status, host) VALUES (?, ?, 'running', ?)",
                (pipeline, _now(), _host_stamp(os.getpid())),
            )
            run_id = cur.lastrowid
        assert run_id is not None
        return run_id

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        """Record the end of a run with its status and summary document."""
        with self._tx("finish run") as conn:
            conn.execute(
                "UPDATE runs SET finished = ?, status = ?, summary = ? WHERE run_id = ?",
                (_now(), status, self._clean(_encode(summary).decode()), run_id),
            )

    def mark_crashed(self) -> list[int]:
        """Runs left ``running`` by a host process that no longer exists → ``crashed``.

        A run whose host is alive (another ``wiseflow run`` on the same database), or ran on
        another machine, is left alone. Returns the run ids marked.
        """
        rows = self._query("SELECT run_id, host FROM runs WHERE status = 'running'", ())
        dead = [run_id for run_id, host in rows if not _host_alive(host)]
        if dead:
            with self._tx("mark crashed runs") as conn:
                conn.executemany(
                    "UPDATE runs SET status = 'crashed', finished = ? "
                    "WHERE run_id = ? AND status = 'running'",
                    [(_now(), run_id) for run_id in dead],
                )
        return dead

    def run(self, run_id: int) -> dict[str, Any] | None:
        """One run (as :meth:`runs` lists them), or None."""
        rows = self._query(
            "SELECT run_id, pipeline, started, finished, status, summary FROM runs"
            " WHERE run_id = ?",
            (run_id,),
        )
        return _run_row(rows[0]) if rows else None

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        rows = self._query(
            "SELECT run_id, pipeline, started, finished, status, summary FROM runs"
            " ORDER BY run_id DESC LIMIT ?",
            (limit,),
        )
        return [_run_row(row) for row in rows]

    def _clean(self, text: str) -> str:
        return self.redactor.text(text) if self.redactor else text

    # -- records and checkpoints -------------------------------------------------------------

    def write_batch(
        self,
        source: str,
        records: Sequence[Record],
        run_id: int | None,
        checkpoint: dict[str, Any] | None = None,
    ) -> tuple[int, int]:
        """Store ``records`` and, in the same transaction, ``source``'s checkpoint.

        A record already stored under the same ``(source, id)`` is never stored twice: it is
        updated in place when its content changed (counted in :attr:`updated`), else left.

        Returns:
            ``(stored, duplicates)``: how many were new and how many were already there.
        """
        rows = [_row(r, run_id) for r in records]
        if self.redactor:  # one scan of the batch; rows are rewritten only when a secret is in
            rows = self.redactor.rows(rows)
        state = self._clean(_encode(checkpoint).decode()) if checkpoint is not None else None
        with self._tx("write batch") as conn:
            known = self._known(conn, rows)
            before = conn.total_changes
            if rows:
                conn.executemany(_INSERT, rows)
            changed = conn.total_changes - before
            if state is not None:
                conn.execute(_CHECKPOINT, (source, state, run_id, _now()))
        fresh = len({(r[0], r[1]) for r in rows} - known)
        self.updated += max(0, changed - fresh)
        return fresh, len(rows) - fresh

    @staticmethod
    def _known(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> set[tuple[str, str]]:
        """The ``(source, id)`` keys among ``rows`` that are already stored."""
        keys = {(r[0], r[1]) for r in rows}
        found: set[tuple[str, str]] = set()
        by_source: dict[str, list[str]] = {}
        for src, rid in keys:
            by_source.setdefault(src, []).append(rid)
        for src, ids in by_source.items():
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                cur = conn.execute(
                    f"SELECT id FROM records WHERE source = ? AND id IN ({marks})",  # noqa: S608
                    (src, *chunk),
                )
                found.update((src, rid) for (rid,) in cur)
        return found

    @staticmethod
    def encode_error(record: Record) -> str | None:
        """Why ``record`` cannot be stored (its fields do not encode as JSON), or None."""
        try:
            _row(record, None)
        except (TypeError, ValueError, msgspec.EncodeError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def checkpoint(self, source: str) -> dict[str, Any] | None:
        """The last committed checkpoint state of ``source``, or ``None``."""
        rows = self._query("SELECT state FROM checkpoints WHERE source = ?", (source,))
        if not rows:
            return None
        state = _decode(rows[0][0])
        return state if isinstance(state, dict) else None

    def clear_checkpoint(self, source: str) -> None:
        """Forget ``source``'s checkpoint (a full refresh from the next run on)."""
        with self._tx("clear checkpoint") as conn:
            conn.execute("DELETE FROM checkpoints WHERE source = ?", (source,))

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
        rid = record_id if record_id is not None else (record.id if record else None)
        body = _encode(record).decode() if record is not None else None
        row = (run_id, source, rid, plugin, code, reason, body, _now(), traceback)
        if self.redactor:
            row = self.redactor.rows([row])[0]
        with self._tx("dead letter") as conn:
            conn.execute(
                "INSERT INTO dead_letters (run_id, source, record_id, plugin, code, reason,"
                " record, time, traceback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

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
        sql = (
            "SELECT source, id, kind, time, title, text, url, author, tags, data, annotations"
            " FROM records"
        )
        args: tuple[Any, ...] = ()
        if source is not None:
            sql += " WHERE source = ?"
            args = (source,)
        for row in self._query(sql + " ORDER BY source, id", args):
            yield _record(row)

    def iter_batches(self, sources: Sequence[str], batch_size: int) -> Iterator[list[Record]]:
        """Stored records of ``sources`` in batches, paged by key so memory stays bounded."""
        cols = "source, id, kind, time, title, text, url, author, tags, data, annotations"
        for source in sources:
            last = ""
            while True:
                rows = self._query(
                    f"SELECT {cols} FROM records WHERE source = ? AND id > ?"  # noqa: S608
                    " ORDER BY id LIMIT ?",
                    (source, last, batch_size),
                )
                if not rows:
                    break
                last = rows[-1][1]
                yield [_record(row) for row in rows]

    def dead_letters(self, run_id: int | None = None) -> list[dict[str, Any]]:
        """Dead letters (all, or of one run), oldest first."""
        sql = (
            "SELECT seq, run_id, source, record_id, plugin, code, reason, record, time, traceback"
            " FROM dead_letters"
        )
        args: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            args = (run_id,)
        keys = (
            "seq", "run_id", "source", "record_id", "plugin", "code", "reason", "record", "time",
            "traceback",
        )  # fmt: skip
        out = []
        for row in self._query(sql + " ORDER BY seq", args):
            item = dict(zip(keys, row, strict=True))
            item["record"] = _decode(item["record"]) if item["record"] else None
            out.append(item)
        return out

    def _query(self, sql: str, args: Iterable[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(
                    f"store {self.path}: query failed: {exc}",
                    plugin=str(self.path),
                    hint=_hint_for(exc, self.path),
                ) from None


def _run_row(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("run_id", "pipeline", "started", "finished", "status", "summary")
    item = dict(zip(keys, row, strict=True))
    item["summary"] = _decode(item["summary"]) if item["summary"] else None
    return item


def _host_stamp(pid: int) -> str:
    """``hostname:pid:start time`` of a process (start time tells a reused pid apart)."""
    import socket

    import psutil

    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = 0.0
    return f"{socket.gethostname()}:{pid}:{started:.2f}"


def _host_alive(stamp: str | None) -> bool:
    """Whether the process a run's ``host`` stamp names still runs (other machines: yes)."""
    import socket

    if not stamp:
        return False  # written before hosts were recorded: nothing can still be running it
    parts = stamp.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    hostname, pid_text, started = parts
    if hostname != socket.gethostname():
        return True  # cannot tell from here: leave it to that machine
    return started != "0.00" and _host_stamp(int(pid_text)) == stamp


def _record(row: tuple[Any, ...]) -> Record:
    source, rid, kind, time, title, text, url, author, tags, data, annotations = row
    return Record(
        id=rid,
        source=source,
        kind=kind,
        time=datetime.fromisoformat(time) if time else None,
        title=title,
        text=text,
        url=url,
        author=author,
        tags=tuple(_decode(tags)),
        data=_decode(data),
        annotations=_decode(annotations),
    )
