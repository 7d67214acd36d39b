"""Records that break the contract, one dead letter each instead of the end of a stream.

A frame that decodes but fails typed decoding because of one record is decoded again,
record by record (:func:`salvage`); a worker checks what it is about to send
(:func:`unsendable_record`). Loaded only on those failure paths.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .._contract._errors import SkipRecord
from .._contract._record import Record, bad_output, fields_problem, record_problem, refused
from ._messages import (
    _EXT_RECORD,
    Chunk,
    Fail,
    Message,
    _record_decoder,
    _record_encoder,
)
from ._messages import ext_hook as _ext_hook

__all__ = ["salvage", "unsendable_record"]


def _keep_ext(code: int, data: memoryview) -> msgspec.msgpack.Ext:
    return msgspec.msgpack.Ext(code, bytes(data))


def _raw_id(raw: Any) -> Any:
    """A refused record's id as it came (None when there is none to show)."""
    return raw.get("id") if isinstance(raw, dict) else None


def _short(value: Any) -> str:
    try:
        return repr(value)[:200]
    except Exception:
        return type(value).__name__


def _typed_record(raw: Any) -> Record | SkipRecord:
    """``raw`` (one record of a frame, decoded untyped) decoded exactly as the typed path does,
    or its refusal naming the field."""
    try:
        out: Record = msgspec.msgpack.decode(
            _record_encoder.encode(raw), type=Record, ext_hook=_ext_hook
        )
        return out
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError) as exc:
        problem = fields_problem(raw) if isinstance(raw, dict) else None
        if problem is None:
            problem = f"{exc}" if isinstance(raw, dict) else f"expected a Record, got {_short(raw)}"
        return refused(_raw_id(raw), problem)


def _refusing_ext(code: int, data: memoryview) -> Any:
    """:func:`_ext_hook`, except that a record breaking the contract becomes its refusal."""
    if code != _EXT_RECORD:
        return _ext_hook(code, data)
    try:
        return _record_decoder.decode(data)
    except msgspec.ValidationError:
        return _typed_record(msgspec.msgpack.decode(data, ext_hook=_keep_ext))


def salvage(body: memoryview) -> Message | None:
    """A Chunk or Result whose typed decoding failed, with its records taken one by one.

    In a Chunk, a record that breaks the contract becomes its refusal (a WF406 dead letter;
    the stream goes on); a Result holding one becomes a :class:`Fail` naming the field (the
    engine then bisects the batch). None for anything else: the frame is a violation.
    """
    try:
        raw = msgspec.msgpack.decode(body, ext_hook=_keep_ext)
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError):
        return None
    if not (
        type(raw) is list and 2 <= len(raw) <= 4 and raw[0] in ("chunk", "result")
        and type(raw[1]) is int
    ):  # fmt: skip
        return None
    rid, rest = raw[1], raw[2:] + [None] * (4 - len(raw))
    try:
        if raw[0] == "chunk":
            records, items = rest
            if records is not None:
                if type(records) is not list:
                    return None
                return Chunk(id=rid, items=[_typed_record(r) for r in records])
            if items is None or type(items) is list:
                again = _record_encoder.encode(items)
                return Chunk(id=rid, items=msgspec.msgpack.decode(again, ext_hook=_refusing_ext))
            return None
        value, records = rest
        if type(records) is list:
            for r in records:
                got = _typed_record(r)
                if isinstance(got, SkipRecord):
                    return Fail(id=rid, error=bad_output(got.reason).to_dict())
            return None  # the records were fine: the frame is wrong elsewhere
        out = msgspec.msgpack.decode(_record_encoder.encode(value), ext_hook=_refusing_ext)
        bad = _first_refusal(out)
        if bad is not None:
            return Fail(id=rid, error=bad_output(bad.reason).to_dict())
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError):
        return None
    return None


def _first_refusal(value: Any) -> SkipRecord | None:
    if isinstance(value, SkipRecord) and value.code == "WF406":
        return value
    if isinstance(value, list):
        for v in value:
            bad = _first_refusal(v)
            if bad is not None:
                return bad
    if isinstance(value, dict):
        for v in value.values():
            bad = _first_refusal(v)
            if bad is not None:
                return bad
    return None


def unsendable_record(items: list[Any]) -> tuple[int, str] | None:
    """The index and problem of the first record in ``items`` that cannot be sent, if any."""
    for i, item in enumerate(items):
        if type(item) is Record:
            problem = record_problem(item)
            if problem is None:
                try:
                    _record_encoder.encode(item)
                except (TypeError, ValueError, OverflowError) as exc:
                    problem = f"Record cannot be encoded: {exc}"
            if problem is not None:
                return i, problem
    return None
