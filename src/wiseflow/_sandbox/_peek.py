"""Counting what a Result or Chunk frame holds before decoding it.

Decoding 1.5 million Records costs the host ~1 GB even when their frame is 60 MB. The host
knows how many items a call may return (a processor: ``max_output_ratio`` per input record;
a stream chunk: what the worker batches), so it reads only the msgpack array headers of a
frame's ``records``/``value``/``items`` fields (``msgspec.Raw``: skipped, not built) and
refuses the frame when they hold more.
"""

from __future__ import annotations

import struct
from typing import final

import msgspec

__all__ = ["TooManyItems", "count_items"]


@final
class TooManyItems(Exception):
    """A frame holds more items than the host accepts for it."""

    def __init__(self, kind: str, count: int, limit: int) -> None:
        super().__init__(f"a {kind} of {count:,} items (at most {limit:,} accepted)")
        self.kind = kind
        self.count = count
        self.limit = limit


_NIL = msgspec.Raw(b"\xc0")


class _ResultShape(msgspec.Struct, tag_field="t", tag="result", array_like=True):
    id: int
    value: msgspec.Raw = _NIL
    records: msgspec.Raw = _NIL


class _ChunkShape(msgspec.Struct, tag_field="t", tag="chunk", array_like=True):
    id: int
    records: msgspec.Raw = _NIL
    items: msgspec.Raw = _NIL


_shape = msgspec.msgpack.Decoder(_ResultShape | _ChunkShape)
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def _length(raw: msgspec.Raw | bytes) -> int:
    """Elements of the msgpack array or map ``raw`` (1 for any other value, 0 for nil)."""
    data = memoryview(raw)
    if not data:
        return 0
    b = data[0]
    if b == 0xC0:
        return 0
    if 0x90 <= b <= 0x9F:
        return b & 0x0F
    if 0x80 <= b <= 0x8F:
        return b & 0x0F
    if b in (0xDC, 0xDE):
        return int(_U16.unpack_from(data, 1)[0])
    if b in (0xDD, 0xDF):
        return int(_U32.unpack_from(data, 1)[0])
    return 1


_RESULT_HEAD = b"\x94\xa6result"


def _honest_result(frame: memoryview | bytes) -> int | None:
    """The count of a Result as workers encode it (``value`` nil), read in O(1); else None.

    ``[b"result", id, nil, records]``: the records header follows the id directly.
    """
    if bytes(frame[:8]) != _RESULT_HEAD:
        return None
    at = 8
    b = frame[at]
    at += 1 if b <= 0x7F else {0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9}.get(b, 0)
    if at == 8 or len(frame) <= at + 1 or frame[at] != 0xC0:
        return None
    return _length(bytes(frame[at + 1 : at + 6]))


def count_items(frame: memoryview | bytes) -> tuple[str, int] | None:
    """(``"result"``/``"chunk"``, items it holds) for such a frame's body; None otherwise.

    A frame that is neither, or does not decode, is left to the real decoder (which raises
    WF406 for the malformed ones).
    """
    if not frame or not (0x90 <= frame[0] <= 0x9F or frame[0] in (0xDC, 0xDD)):
        return None
    fast = _honest_result(frame)
    if fast is not None:
        return "result", fast
    try:
        shape = _shape.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError):
        return None
    if isinstance(shape, _ResultShape):
        return "result", _length(shape.records) + _length(shape.value)
    return "chunk", _length(shape.records) + _length(shape.items)
