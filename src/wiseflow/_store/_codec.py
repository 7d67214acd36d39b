"""Rows of the store: a :class:`Record` to its columns and back, encoded once per record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from .._contract._record import Record

__all__ = ["decode", "decode_row", "decode_run", "encode", "encode_row"]

_encode = msgspec.json.Encoder().encode
decode = msgspec.json.decode


def encode(value: Any) -> str:
    """``value`` as JSON text."""
    return _encode(value).decode()


def _time(t: datetime | None) -> str | None:
    """ISO 8601 as ``datetime.isoformat`` writes it (the stored format), at a fifth the cost.

    msgspec writes the same digits with ``Z`` for UTC; only UTC takes the short path.
    """
    if t is None:
        return None
    if t.tzinfo is UTC:
        return _encode(t)[1:-2].decode() + "+00:00"
    return t.isoformat()


def encode_row(r: Record, run_id: int | None) -> tuple[Any, ...]:
    """The ``records`` columns of ``r``, in table order.

    Empty ``tags``, ``data`` and ``annotations`` (the common case) are constants, not
    encoder calls.

    Raises:
        TypeError, ValueError, msgspec.EncodeError: a field does not encode as JSON.
    """
    tags, data, annotations = r.tags, r.data, r.annotations
    return (
        r.source,
        r.id,
        r.kind,
        _time(r.time),
        r.title,
        r.text,
        r.url,
        r.author,
        _encode(tags).decode() if tags else "[]",
        _encode(data).decode() if data else "{}",
        _encode(annotations).decode() if annotations else "{}",
        run_id,
    )


def decode_row(columns: tuple[Any, ...]) -> Record:
    """A stored row (``source, id, kind, time, title, text, url, author, tags, data,
    annotations``) as a :class:`Record`."""
    source, rid, kind, time, title, text, url, author, tags, data, annotations = columns
    return Record(
        id=rid,
        source=source,
        kind=kind,
        time=datetime.fromisoformat(time) if time else None,
        title=title,
        text=text,
        url=url,
        author=author,
        tags=tuple(decode(tags)),
        data=decode(data),
        annotations=decode(annotations),
    )


def decode_run(columns: tuple[Any, ...]) -> dict[str, Any]:
    """A ``runs`` row (``run_id, pipeline, started, finished, status, summary``) as a dict."""
    keys = ("run_id", "pipeline", "started", "finished", "status", "summary")
    item = dict(zip(keys, columns, strict=True))
    item["summary"] = decode(item["summary"]) if item["summary"] else None
    return item
