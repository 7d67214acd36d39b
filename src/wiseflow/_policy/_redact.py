"""Granted secrets never appear in anything the host writes: :class:`Redactor`.

One redactor per plugin manager. The broker feeds it what it hands out: the value of every
secret a plugin read through ``ctx.secret`` and the ``Authorization`` header of every
brokered request. The host applies it at the few choke points where plugin text leaves:
error conversion (``PluginHandle``), log lines (:class:`RedactingFilter`, the worker output
pump), store writes (records, dead letters, run summaries) and the run document / report.

Each value is also known in its JSON-escaped spelling (how it appears inside stored JSON)
and, for a multi-line secret such as a PEM key, line by line, so that a secret printed
over several log lines is not published one line at a time. Values shorter than
:data:`MIN_LENGTH` are not redacted: replacing ``"a"`` everywhere would destroy the data
while hiding nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterable
from typing import Any, final

__all__ = ["MASK", "MIN_LENGTH", "RedactingFilter", "Redactor", "redact_all"]

MASK = "***"
MIN_LENGTH = 4
#: Lines of a multi-line secret shorter than this are left alone (``-----END`` etc. stay).
_MIN_FRAGMENT = 8

_live: weakref.WeakSet[Redactor] = weakref.WeakSet()
_live_lock = threading.Lock()


@final
class Redactor:
    """Replaces known secret values by ``***`` in strings, bytes checks and JSON-like data.

    Thread-safe; cheap when it knows no secret (one attribute check).

    Example:
        >>> r = Redactor()
        >>> r.add("s3cr3t-token")
        >>> r.text("Authorization: Bearer s3cr3t-token")
        'Authorization: Bearer ***'
    """

    __slots__ = ("__weakref__", "_lock", "_values")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()  # longest first, so a value's parts go after it
        with _live_lock:
            _live.add(self)

    def __bool__(self) -> bool:
        return bool(self._values)

    @property
    def values(self) -> tuple[str, ...]:
        """Every spelling redacted, longest first."""
        return self._values

    def add(self, value: str | None) -> None:
        """Redact ``value`` (a granted secret) from now on."""
        if not value or len(value) < MIN_LENGTH:
            return
        forms = {value, json.dumps(value)[1:-1]}
        if "\n" in value:
            forms.update(p.strip() for p in value.splitlines() if len(p.strip()) >= _MIN_FRAGMENT)
        with self._lock:
            known = set(self._values)
            if forms <= known:
                return
            self._values = tuple(sorted(known | forms, key=len, reverse=True))

    def add_authorization(self, headers: dict[str, str]) -> None:
        """Redact the credentials of a request's ``Authorization`` headers."""
        for key, value in headers.items():
            if key.lower() in ("authorization", "proxy-authorization") and value:
                self.add(value)
                _scheme, _, credential = value.strip().partition(" ")
                self.add(credential.strip())

    def text(self, s: str) -> str:
        """``s`` with every known value replaced by ``***``."""
        values = self._values
        if not values:
            return s
        for v in values:
            if v in s:
                s = s.replace(v, MASK)
        return s

    def found_in(self, blob: str | bytes) -> bool:
        """Whether any known value occurs in ``blob`` (a cheap test before rewriting)."""
        values = self._values
        if not values:
            return False
        if isinstance(blob, bytes):
            return any(v.encode() in blob for v in values)
        return any(v in blob for v in values)

    def deep(self, obj: Any) -> Any:
        """``obj`` (str, list, tuple, dict, anything else as is) with strings redacted."""
        if not self._values:
            return obj
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.deep(k): self.deep(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return type(obj)(self.deep(v) for v in obj)
        return obj

    def error(self, err: Any) -> None:
        """Redact a :class:`~wiseflow.WiseflowError` in place (message, hint, reason, ...)."""
        if not self._values:
            return
        for attr in ("message", "hint", "reason", "traceback", "record_id"):
            value = getattr(err, attr, None)
            if isinstance(value, str):
                clean = self.text(value)
                if clean != value:
                    setattr(err, attr, clean)
        if err.args and isinstance(err.args[0], str):
            err.args = (self.text(err.args[0]), *err.args[1:])

    def rows(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Table rows with every string cell redacted; checked in one pass first."""
        if not self._values:
            return rows
        blob = "\x00".join(c for row in rows for c in row if isinstance(c, str))
        if not self.found_in(blob):
            return rows
        return [tuple(self.text(c) if isinstance(c, str) else c for c in row) for row in rows]


def redact_all(s: str, redactors: Iterable[Redactor] | None = None) -> str:
    """``s`` redacted by ``redactors`` (default: every live redactor of this process)."""
    if redactors is None:
        with _live_lock:
            redactors = [r for r in _live if r]
    for r in redactors:
        s = r.text(s)
    return s


class RedactingFilter(logging.Filter):
    """A handler filter: log records leave with every live redactor's values masked.

    Logging is process-wide, so the filter applies every live :class:`Redactor` (one per
    plugin manager). The record is rewritten in place, message and arguments merged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        with _live_lock:
            active = [r for r in _live if r]
        if not active:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it, the filter must not raise
            return True
        clean = redact_all(message, active)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_all(text, active)
            record.exc_info = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: _deep_all(v, active) for k, v in fields.items()}
        return True


def _deep_all(obj: Any, redactors: list[Redactor]) -> Any:
    for r in redactors:
        obj = r.deep(obj)
    return obj
