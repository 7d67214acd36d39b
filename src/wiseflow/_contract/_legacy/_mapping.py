"""Original-API items (dicts) to :class:`~wiseflow.Record` and back (LEGACY-API.md, "Data").

Into a record: ``id`` from ``id``, else ``url``, else a hash of the item's content (an
``int`` id is written as a string); ``title`` from ``title``; ``text`` from ``content``,
else ``text``; ``url``; ``author``; ``time`` from the first of ``published``, ``date``,
``time`` that reads as a time (ISO 8601, RFC 2822, a POSIX timestamp or a ``datetime``;
naive times are taken as UTC); everything else goes into ``data``, where ``datetime`` and
``date`` values are written in ISO 8601 and anything else must already be JSON. The record
contract then checks every field as for any plugin: an item that breaks it (not a dict,
keys that are not strings, values that are not JSON, an id of a wrong type) is *refused*
with the reason, never mended by guessing.

Out to a plugin: the record's ``data`` with its own fields over it (``id``, ``title``,
``content``, ``url``, ``author``, ``published`` in ISO 8601, ``source``, ``kind``,
``tags``, ``annotations``). A dict a processor hands back keeps the ``source`` of the
record it came from (processors keep sources) and takes ``kind``, ``tags`` and
``annotations`` back into their fields.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from .._fields import got
from .._record import Record

__all__ = ["from_legacy", "item_id", "to_legacy"]

_TIME_KEYS = ("published", "date", "time")
#: Types never converted (the usual values: no isinstance check for them).
_SCALARS = frozenset({str, int, float, bool, type(None), list, dict})
#: How long an id taken from an item may be when quoted in a refusal.
_ID_SHOWN = 200


def to_legacy(record: Record) -> dict[str, Any]:
    """``record`` as the dict an original-API processor or analyzer expects."""
    item: dict[str, Any] = dict(record.data)
    item.update(
        id=record.id,
        title=record.title,
        content=record.text,
        url=record.url,
        author=record.author,
        published=record.time.isoformat() if record.time is not None else None,
        source=record.source,
        kind=record.kind,
        tags=list(record.tags),
        annotations=dict(record.annotations),
    )
    return item


def item_id(item: Any) -> str:
    """What to call ``item`` in a refusal: its ``id`` (or ``url``) as a short string."""
    if type(item) is dict:
        for key in ("id", "url"):
            value = item.get(key)
            if value is not None:
                try:
                    return (value if type(value) is str else repr(value))[:_ID_SHOWN]
                except Exception:
                    return type(value).__name__
    return "(no id)"


def from_legacy(item: Any, *, source: str, base: Record | None = None) -> Record | str:
    """The record ``item`` maps to, or why it cannot be one (a message naming the field).

    Args:
        source: the record's ``source`` for a connector's item (the instance name).
        base: the record a processor was given: its source is kept, and its kind, tags and
            annotations are the defaults.
    """
    if type(item) is not dict:
        return f"expected a dict, got {got(item)}"
    rest = dict(item)
    rid = rest.pop("id", None)
    url = rest.pop("url", None)
    if rid is None:
        rid = url if url is not None else _content_id(item)
    elif type(rid) is int:
        rid = str(rid)
    title = rest.pop("title", None)
    content, text = rest.pop("content", None), rest.pop("text", None)
    body = content if content is not None else text
    author = rest.pop("author", None)
    when = None
    for key in _TIME_KEYS:
        if key in rest and rest[key] is None:
            del rest[key]  # no time (how a record without one is handed out)
        elif key in rest:
            when = _time(rest[key])
            if when is not None:
                del rest[key]
                break
    fields: dict[str, Any] = {}
    if base is not None:
        rest.pop("source", None)
        source = base.source
        tags = rest.pop("tags", base.tags)
        fields = {
            "kind": rest.pop("kind", base.kind),
            "tags": tuple(tags) if type(tags) is list else tags,  # the record's fast path
            "annotations": rest.pop("annotations", base.annotations),
        }
    for key, value in rest.items():
        if type(value) not in _SCALARS and isinstance(value, date):  # datetime is a date
            rest[key] = value.isoformat()  # JSON has no time type
    try:
        return Record(
            id=rid,
            source=source,
            title="" if title is None else title,
            text="" if body is None else body,
            url=url,
            author=author,
            time=when,
            data=rest,
            **fields,
        )
    except (TypeError, ValueError, RecursionError) as exc:
        return str(exc)[:1000]


def _content_id(item: dict[Any, Any]) -> str:
    """A stable id for an item that names none: a hash of its content."""
    try:
        blob = msgspec.json.encode(item, order="sorted")
    except (TypeError, ValueError, OverflowError, RecursionError):
        blob = repr(sorted(item.items(), key=repr)).encode("utf-8", "replace")
    return "sha256:" + hashlib.sha256(blob).hexdigest()[:32]


def _time(value: Any) -> datetime | None:
    """``value`` as an aware UTC time, or None when it does not read as one."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if type(value) in (int, float) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if type(value) is not str or len(value) > 100:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        from email.utils import parsedate_to_datetime  # feeds' RFC 2822 dates

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
