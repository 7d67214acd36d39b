"""The record contract's per-field checks: each field's type and value, and JSON data.

Each check returns the value to keep or raises ``TypeError`` (wrong type) or ``ValueError``
(wrong value) naming the field (``Record.tags[1]``, ``Record.data['a'][0]``). Part of
the plugin contract, like ``_record`` whose ``Record.__post_init__`` runs them: sandbox
workers import it, so it imports the standard library only.
"""

import reprlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CHECKS",
    "INT_MAX",
    "INT_MIN",
    "MAX_DEPTH",
    "dict_check",
    "flat_json",
    "got",
    "json_value",
    "tags_check",
    "time_check",
]

#: msgpack carries integers in [-2**63, 2**64 - 1]; JSON numbers beyond that are not kept.
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
#: Nesting deeper than this is refused (the wire and JSON codecs recurse; cycles end here).
MAX_DEPTH = 100
_JSON = "JSON (None, bool, int, float, str, list or dict with str keys)"
_PLAIN = frozenset({str, bool, type(None)})
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def got(value: Any) -> str:
    """``value`` for a message: its type and a short repr (never raises)."""
    try:
        shown = _repr.repr(value)
    except Exception:
        shown = "(no repr)"
    return f"{type(value).__name__} {shown}"


def _str(name: str, *, empty: bool = True, none: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is str:
            if not value and not empty:
                raise ValueError(f"Record.{name}: must not be empty")
            return value
        if value is None and none:
            return value
        what = "a str or None" if none else "a str"
        raise TypeError(f"Record.{name}: expected {what}, got {got(value)}")

    return check


def tags_check(value: Any) -> tuple[str, ...]:
    if type(value) is not tuple and not isinstance(value, list | tuple):
        raise TypeError(f"Record.tags: expected a tuple or list of str, got {got(value)}")
    for i, tag in enumerate(value):
        if type(tag) is not str:
            raise TypeError(f"Record.tags[{i}]: expected a str, got {got(tag)}")
    return value if type(value) is tuple else tuple(value)


def time_check(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(
            f"Record.time: expected a timezone-aware datetime or None, got {got(value)}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Record.time: must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC) if value.utcoffset() else value


def dict_check(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"Record.{name}: expected a dict with str keys, got {got(value)}")
    json_value(value, name)
    return value


def _data(value: Any) -> dict[str, Any]:
    return dict_check("data", value)


def _annotations(value: Any) -> dict[str, Any]:
    return dict_check("annotations", value)


CHECKS: dict[str, Callable[[Any], Any]] = {
    "id": _str("id", empty=False),
    "source": _str("source", empty=False),
    "kind": _str("kind"),
    "time": time_check,
    "title": _str("title"),
    "text": _str("text"),
    "url": _str("url", none=True),
    "author": _str("author", none=True),
    "tags": tags_check,
    "data": _data,
    "annotations": _annotations,
}


def flat_json(d: dict[Any, Any]) -> bool | None:
    """None when ``d`` is a dict of str keys to JSON scalars (the fast, common case).

    Anything else (a nested value, or a wrong one) returns True: the caller then walks it.
    """
    for k, v in d.items():
        t = type(v)
        if type(k) is not str:
            return True
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if INT_MIN <= v <= INT_MAX:
                continue
            return True
        if t is float and v - v == 0.0:  # finite (inf - inf and nan - nan are nan)
            continue
        return True
    return None


def json_value(value: Any, where: str) -> None:
    """Raise naming the path (``data['a'][0]``) of the first value in ``value`` not JSON."""
    bad = _walk(value, 0)
    if bad is None:
        return
    path, exc = bad
    path.reverse()
    if len(path) > 8:  # a cycle or a deep tree: the start and the end say where
        path[4:-3] = ["..."]
    raise type(exc)(f"Record.{where}{''.join(path)}: {exc}")


def _walk(value: Any, depth: int) -> tuple[list[str], TypeError | ValueError] | None:
    """None when ``value`` is JSON; else the path to the first bad value (innermost first)
    and the error. Scalars inside containers are checked inline: no call per item."""
    if isinstance(value, dict):
        pairs: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        pairs = enumerate(value)
    else:
        return _scalar(value)
    if depth >= MAX_DEPTH:
        return [], ValueError(f"nested deeper than {MAX_DEPTH} levels (or a cycle)")
    keyed = isinstance(value, dict)
    if not keyed and _PLAIN.issuperset(map(type, value)):
        return None  # a list of strings (files, labels): checked in C, no loop here
    for k, v in pairs:
        if keyed and type(k) is not str:
            return [], TypeError(f"keys must be str, got {got(k)}")
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int and INT_MIN <= v <= INT_MAX:
            continue
        if t is float and v - v == 0.0:
            continue
        bad = _walk(v, depth + 1)
        if bad is not None:
            bad[0].append(f"[{k!r}]")
            return bad
    return None


def _scalar(value: Any) -> tuple[list[str], TypeError | ValueError] | None:
    t = type(value)
    if t is str or t is bool or value is None:
        return None
    if t is int:
        if INT_MIN <= value <= INT_MAX:
            return None
        return [], ValueError(f"integer {value} is outside the 64-bit range JSON data keeps")
    if t is float:
        if value - value == 0.0:
            return None
        return [], ValueError(f"expected a finite float, got {value!r}")
    hint = " (use a list)" if isinstance(value, tuple | set | frozenset) else ""
    return [], TypeError(f"expected {_JSON}, got {got(value)}{hint}")
