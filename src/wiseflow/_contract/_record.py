"""The unit of data (:class:`Record`) and a connector's state marker (:class:`Checkpoint`).

A Record checks its fields where it is made (``Record(...)``, ``replace``, ``annotate``,
and every typed decode, which msgspec runs through ``__post_init__``): the types of SPEC §2,
a non-empty ``id``, and ``data``/``annotations`` that are JSON (str keys; None, bool, 64-bit
int, finite float, str, list, dict), so that what a plugin makes is what the store keeps
and what the other side of the wire decodes, at every level. :func:`record_problem` says
what is wrong with a record built around the constructor (``force_setattr``,
``Record.__new__``, a ``data`` dict changed in place); the hosts call it where records
enter them (see ``_sandbox._protocol`` and ``_inprocess``). The checks of each field are
in ``_fields``.
"""

# No `from __future__ import annotations` here: public Structs are re-homed to `wiseflow`,
# and msgspec resolves string annotations through the class's module.

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, final

import msgspec

from . import _fields
from ._errors import PluginError, SkipRecord
from ._fields import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    dict_check,
    flat_json,
    got,
    json_value,
    tags_check,
    time_check,
)

__all__ = [
    "MAX_DEPTH",
    "Checkpoint",
    "Record",
    "already_checked",
    "bad_output",
    "check_returned",
    "fields_problem",
    "record_problem",
    "refused",
    "screen",
    "taken",
]

_force = msgspec.structs.force_setattr
_wire_encode = msgspec.msgpack.Encoder().encode
_copy: Callable[["Record"], "Record"] = getattr(msgspec.Struct, "__copy__")  # noqa: B009 - untyped
#: Bound here, not imported: CPython compiles ``NAME.get(...)`` on a name bound by an import
#: as a module attribute load, which a dict's method misses (replace() was 20% slower).
CHECKS = _fields.CHECKS
_REFUSED_HINT = (
    "the plugin made a record that breaks the record contract (SPEC §2); construct records "
    "with Record(...) and replace(), which check every field, and do not change them in place"
)


#: What a record decoded in this thread still needs checked (see already_checked).
_FULL, _DATA, _NOTHING = 0, 1, 2


class _Checked(threading.local):
    mode = _FULL


_checked = _Checked()
#: Threads inside :class:`already_checked` now. While none is, no thread is exempt and a
#: record skips the thread-local lookup; a thread's own exemption is set only after it
#: counted itself in, so it always sees a count above zero (under ``_entering``).
_decoding = 0
_entering = threading.Lock()


class already_checked:  # a context manager, named and used like a function
    """Records decoded in this thread meanwhile are checked only for what is left to check.

    ``by_peer``: not at all (a worker decoding the host's messages: every record in them
    was checked where it entered the host); else only what msgspec's typed decoding
    cannot check (non-empty ids, JSON data values, aware times): the host decoding a
    worker's. Per thread, so a plugin thread making records meanwhile is never exempt.
    A class rather than a generator: it wraps the decoding of every frame.
    """

    __slots__ = ("_mode",)

    def __init__(self, *, by_peer: bool) -> None:
        self._mode = _NOTHING if by_peer else _DATA

    def __enter__(self) -> None:
        global _decoding
        with _entering:
            _decoding += 1
        _checked.mode = self._mode

    def __exit__(self, *exc: object) -> None:
        global _decoding
        _checked.mode = _FULL
        with _entering:
            _decoding -= 1


@final
class Record(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One item flowing through a pipeline. Immutable; change it with :meth:`replace`.

    Every field is checked when the record is made, and a wrong one raises ``TypeError``
    (wrong type) or ``ValueError`` (wrong value) naming it: ``id`` and ``source`` are
    non-empty ``str``; ``kind``, ``title``, ``text`` are ``str``; ``url`` and ``author``
    are ``str`` or None; ``tags`` is a tuple or list of ``str`` (kept as a tuple; a bare
    ``str`` is refused, not split into characters); ``data`` and ``annotations`` are dicts
    with ``str`` keys and JSON values (None, bool, int within 64 bits, finite float, str,
    list, dict; a tuple, set, bytes or datetime is refused: what is accepted is exactly
    what comes back from the store); ``time`` is a timezone-aware datetime or None,
    normalised to UTC.

    Example:
        >>> r = Record(id="1", source="feed", title="Hello", tags=["news"])
        >>> r.replace(title="Hi").title, r.tags
        ('Hi', ('news',))
        >>> Record(id="2", source="feed", tags="news")
        Traceback (most recent call last):
        TypeError: Record.tags: expected a tuple or list of str, got str 'news'
    """

    id: str
    source: str
    kind: str = "item"
    time: datetime | None = None
    title: str = ""
    text: str = ""
    url: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    annotations: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        mode = _checked.mode if _decoding else _FULL
        if mode == _NOTHING:  # decoded from a peer that checked it (see already_checked)
            return
        # The hot path: identity checks in one expression for the usual record; anything
        # unusual (or wrong) goes through the per-field checks, which name the field.
        url, author, tags = self.url, self.author, self.tags
        if mode == _DATA:  # msgspec's typed decoding checked every type but the data's
            if not (self.id and self.source):
                CHECKS["id"](self.id)
                CHECKS["source"](self.source)
        else:
            if not (
                type(self.id) is str
                and self.id
                and type(self.source) is str
                and self.source
                and type(self.kind) is str
                and type(self.title) is str
                and type(self.text) is str
                and (url is None or type(url) is str)
                and (author is None or type(author) is str)
                and type(tags) is tuple
            ):
                for name in ("id", "source", "kind", "title", "text", "url", "author"):
                    CHECKS[name](getattr(self, name))
                if type(tags) is not tuple:
                    _force(self, "tags", tags_check(tags))
            for tag in tags:
                if type(tag) is not str:
                    tags_check(tags)  # raises, naming the tag
        data, annotations = self.data, self.annotations
        if type(data) is not dict:
            dict_check("data", data)
        else:  # inline: a flat dict of str keys and JSON scalars is the usual data
            for k, v in data.items():
                tv = type(v)
                if type(k) is str and (tv is str or tv is bool or v is None):
                    continue
                if type(k) is str and (
                    (tv is int and INT_MIN <= v <= INT_MAX) or (tv is float and v - v == 0.0)
                ):
                    continue
                dict_check("data", data)  # walks it once, naming the first bad value
                break
        if type(annotations) is not dict or (annotations and flat_json(annotations)):
            dict_check("annotations", annotations)
        t = self.time
        # A datetime in UTC (what msgspec decodes "Z" to, and what `time_check` makes) is
        # already normalised: one identity test instead of two utcoffset() calls.
        if t is not None and (type(t) is not datetime or t.tzinfo is not UTC):
            utc = time_check(t)
            if utc is not t:
                _force(self, "time", utc)

    def replace(self, **changes: Any) -> "Record":
        """A copy with ``changes`` applied (the original is untouched).

        Only the changed fields are checked again: a record's ``data`` is not walked once
        more for a new title.
        """
        new: Record = _copy(self)
        for name, value in changes.items():
            check = CHECKS.get(name)
            if check is None:
                raise TypeError(f"Record has no field {name!r}")
            _force(new, name, check(value))
        return new

    def annotate(self, key: str, value: Any) -> "Record":
        """A copy with ``annotations[key] = value`` (``value`` must be JSON)."""
        if type(key) is not str:
            raise TypeError(f"Record.annotations: keys must be str, got {got(key)}")
        t = type(value)
        if not (t is str or t is bool or value is None):  # a scalar needs no walk
            json_value(value, f"annotations[{key!r}]")
        new: Record = _copy(self)
        _force(new, "annotations", {**self.annotations, key: value})
        return new


def record_problem(record: Any) -> str | None:
    """What breaks the record contract in ``record`` (naming the field), or None.

    For records made around the constructor (``force_setattr``, a ``data`` dict changed in
    place): the same checks as the constructor, one walk of ``data`` and ``annotations``.
    """
    if type(record) is not Record:
        return f"expected a Record, got {got(record)}"
    if _checked.mode != _FULL:
        return None  # never: records are not screened while being decoded
    try:
        record.__post_init__()
    except AttributeError as exc:  # a field never set
        return f"Record is incomplete: {exc}"
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None


def refused(record_id: Any, problem: str) -> SkipRecord:
    """The stream item standing for a record the host refused: a WF406 dead letter.

    ``record_id`` is the refused record's ``id`` as it came, shown as a str.
    """
    if type(record_id) is not str:
        try:
            record_id = "" if record_id is None else repr(record_id)
        except Exception:
            record_id = type(record_id).__name__
    return SkipRecord(record_id[:200], problem, code="WF406", hint=_REFUSED_HINT)


def bad_output(problem: str, plugin: str | None = None) -> PluginError:
    """The failure of a call that returned a record breaking the contract.

    A plain plugin failure (WF400): the engine bisects the batch down to the input record.
    """
    return PluginError(f"a returned record breaks the record contract: {problem}", plugin=plugin)


def as_received(record: Record) -> "Record | str":
    """``record`` as a host receives it from a worker, for a trusted plugin's output.

    Itself when it keeps the contract. When it was changed around the constructor: the
    copy the wire makes of it if the wire's own conversions mend it (msgpack has no tuple
    or set: they become lists), else what is wrong, naming the field, in the words the
    worker (cannot encode it) or the host (cannot decode it) would use. So a record's
    fate does not depend on the level its plugin runs at.
    """
    problem = record_problem(record)
    if problem is None:
        return record
    try:
        sent = _wire_encode(record)
    except (TypeError, ValueError, OverflowError):
        return problem
    try:
        received: Record = _wire_decoder.decode(sent)
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError) as exc:
        raw = msgspec.msgpack.decode(sent)
        return (fields_problem(raw) if isinstance(raw, dict) else None) or str(exc)
    return received


def taken(item: Any) -> Any:
    """``item`` of a trusted plugin's stream as a worker's host would take it (see
    :func:`as_received`): a record breaking the contract becomes its refusal."""
    if type(item) is Record:
        try:  # the usual record keeps the contract: itself, after one check, no more calls
            item.__post_init__()
            return item
        except (AttributeError, TypeError, ValueError):
            pass  # as_received says what is wrong (or mends it), as the wire would
        got = as_received(item)
        return refused(getattr(item, "id", None), got) if type(got) is str else got
    if type(item) is Checkpoint:  # checked when made; its state may have changed since
        try:
            item.__post_init__()
        except (TypeError, ValueError) as exc:
            raise PluginError(f"a yielded checkpoint cannot be kept: {exc}") from None
    return item


def screen(items: Iterable[Any]) -> Iterator[Any]:
    """``items`` (a trusted plugin's stream), each :func:`taken`."""
    return map(taken, items)


def check_returned(value: Any, plugin: str | None) -> None:
    """Take the records in ``value`` (a trusted plugin's result list) as a worker's host
    would (see :func:`as_received`): mended in place, or :func:`bad_output` raised."""
    if type(value) is list:
        for i, item in enumerate(value):
            if type(item) is Record:
                try:  # the usual record: one check (see taken)
                    item.__post_init__()
                    continue
                except (AttributeError, TypeError, ValueError):
                    pass
                got = as_received(item)
                if type(got) is str:
                    raise bad_output(got, plugin)
                value[i] = got


def fields_problem(fields: Mapping[Any, Any]) -> str | None:
    """What is wrong with a record's fields as decoded from the wire (a mapping), or None."""
    missing = [n for n in ("id", "source") if n not in fields]
    if missing:
        return f"Record.{missing[0]}: missing"
    try:
        for name, check in CHECKS.items():
            if name in fields:
                check(fields[name])
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None


_wire_decoder = msgspec.msgpack.Decoder(Record)


@final
class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """Yielded by a connector when everything yielded before it may be considered delivered.

    The host stores ``state`` only after every record before it is stored, and passes it
    back to ``fetch`` on the next run.
    """

    state: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        state = self.state
        if type(state) is dict and not (state and flat_json(state)):
            return  # the usual state: a flat dict of JSON scalars
        if type(state) is not dict:
            raise TypeError(f"Checkpoint.state: expected a dict, got {type(state).__name__}")
        try:  # what the store keeps: a dict it can write as JSON (a tuple becomes a list)
            msgspec.json.encode(state)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise TypeError(f"Checkpoint.state: cannot be stored as JSON: {exc}") from None
