"""Did-you-mean: the close spellings of a misspelt name, field or value.

Used wherever a name is looked up among known ones (plugin names, config fields, enum
values), so that every message about a typo says what was probably meant, and which
spellings are valid.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from typing import Any

__all__ = ["did_you_mean", "explain_validation", "literal_values", "unknown_value"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'root'?"`` for the closest of ``choices``, or ``""`` when none is.

    Example:
        >>> did_you_mean("githb", ["github", "git", "feed"])
        "; did you mean 'github'?"
    """
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=2, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def literal_values(tp: Any) -> tuple[str, ...] | None:
    """The allowed values of a ``Literal`` type (through ``Annotated`` and ``| None``)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return literal_values(typing.get_args(tp)[0])
    if origin is typing.Literal:
        return tuple(str(v) for v in typing.get_args(tp))
    args = typing.get_args(tp)
    if args and origin is not None and type(None) in args:  # Optional[Literal[...]]
        for arg in args:
            found = literal_values(arg)
            if found:
                return found
    return None


def unknown_value(value: object, valid: Iterable[str]) -> str:
    """``"'mnth' is not valid; did you mean 'month'? (valid: day, week, month)"``."""
    valid = tuple(valid)
    return f"{value!r} is not valid{did_you_mean(str(value), valid)} (valid: {', '.join(valid)})"


_UNKNOWN = re.compile(
    r"Object contains unknown field `(?P<word>[^`]*)`(?: - at `\$?(?P<at>[^`]*)`)?"
)
_ENUM = re.compile(r"Invalid enum value (?P<word>'[^']*'|-?\d+)(?: - at `\$?(?P<at>[^`]*)`)?")
_STEP = re.compile(r"\.([^.\[]+)|\[([^\]]*)\]")


def explain_validation(message: str, root: Any, *, hidden: Iterable[str] = ()) -> str:
    """msgspec's message about ``root`` with what was meant and what is valid.

    ``"Object contains unknown field `lvel` - at `$.policy`"`` becomes ``"policy.lvel:
    unknown field; did you mean 'level'? (known: ...)"``; an invalid enum value lists the
    valid ones. Any other message comes back unchanged (without the leading ``$.``).
    ``hidden``: fields never offered (internal ones the file may not set).

    Example:
        >>> explain_validation("Invalid enum value 'mnth' - at `$.period`", Config)
        "period: 'mnth' is not valid; did you mean 'month'? (valid: day, week, month, year)"
    """
    for pattern, kind in ((_UNKNOWN, "field"), (_ENUM, "enum")):
        m = pattern.fullmatch(message)
        if m is None:
            continue
        at = (m.group("at") or "").removeprefix("$")
        tp = _walk(root, at)
        where = at.lstrip(".")
        if kind == "field":
            names = _field_names(tp)
            if names is None:
                break
            names = [n for n in names if n not in set(hidden)]
            word = m.group("word")
            path = f"{where}.{word}" if where else word
            known = ", ".join(sorted(names)) or "none"
            return f"{path}: unknown field{did_you_mean(word, names)} (known: {known})"
        valid = literal_values(tp)
        if valid is None:
            break
        word = m.group("word").strip("'")
        return f"{where or 'value'}: {unknown_value(word, valid)}"
    return message.replace("`$.", "`").replace("$.", "")


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(options) != 1:
                return tp
            tp = options[0]
        else:
            return tp


def _walk(tp: Any, at: str) -> Any:
    """The type found at msgspec's path ``at`` (``.policy.level``, ``.plugins[...]``)."""
    for name, index in _STEP.findall(at):
        tp = _unwrap(tp)
        if name:
            hints = _hints(tp)
            if hints is None or name not in hints:
                return None
            tp = hints[name]
            continue
        del index  # a dict key or list position: the value's type is what matters
        args = typing.get_args(tp)
        if not args:
            return None
        tp = args[-1]
    return _unwrap(tp)


def _hints(tp: Any) -> dict[str, Any] | None:
    import msgspec

    if not (isinstance(tp, type) and issubclass(tp, msgspec.Struct)):
        return None
    hints = typing.get_type_hints(tp, include_extras=True)
    return {f.encode_name: hints.get(f.name, Any) for f in msgspec.structs.fields(tp)}


def _field_names(tp: Any) -> list[str] | None:
    hints = _hints(tp)
    return None if hints is None else list(hints)
