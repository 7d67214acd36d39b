"""Counting what a frame holds before decoding it.

Decoding 1.5 million Records costs the host ~1 GB even when their frame is 30 MB. The host
knows how many items a call may return (a processor: ``max_output_ratio`` per input record;
a stream chunk: what the worker batches), so it reads only the msgpack array headers of a
frame's ``records``/``value``/``items`` fields (``msgspec.Raw``: skipped, not built) and
refuses the frame when they hold more (:func:`count_items`).

Items can also hide deeper (a list holding one list of 1.5 M Records, a record whose
``data`` holds 10 M empty maps: ~75 bytes each once decoded, from 1 byte on the wire), so
a large frame has its values counted, up to a bound, before it is decoded
(:func:`count_values`).
"""

from __future__ import annotations

import struct
from typing import final

import msgspec

from .._contract._errors import ProtocolViolation

__all__ = [
    "COUNT_FROM",
    "MAX_VALUES",
    "TooManyItems",
    "check_counts",
    "count_items",
    "count_values",
]


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


#: Frames above this many bytes have their values counted before they are decoded.
COUNT_FROM = 1024 * 1024
#: The most msgpack values one frame may hold. A value decodes to at most ~75 bytes of
#: Python objects (an empty map), so this bounds one frame's decoded size to ~150 MB;
#: a batch of 500 records with rich ``data`` holds a few hundred thousand.
MAX_VALUES = 2_000_000

# bytes of header, and of fixed payload, per msgpack type byte (0xc4-0xdf; see _values)
_FIXED = {0xC2: 1, 0xC3: 1, 0xC0: 1, 0xCA: 5, 0xCB: 9, 0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9,
          0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9}  # fmt: skip
_SIZED = {0xC4: (1, 2), 0xC5: (2, 3), 0xC6: (4, 5), 0xD9: (1, 2), 0xDA: (2, 3), 0xDB: (4, 5)}
_EXT = {0xC7: (1, 3), 0xC8: (2, 4), 0xC9: (4, 6)}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def count_values(frame: memoryview | bytes, limit: int = MAX_VALUES) -> int:
    """msgpack values in ``frame`` (extension payloads included), counting to ``limit + 1``.

    A walk over type bytes that skips strings and binaries by their length: it costs
    ~0.3 µs per value and stops as soon as the count passes ``limit``. Malformed input is
    counted as far as it goes (the decoder rejects it afterwards).
    """
    try:
        return _walk(frame, limit)
    except (IndexError, struct.error):  # truncated: the decoder rejects it
        return 0


def _walk(data: memoryview | bytes, limit: int) -> int:
    end = len(data)
    pos = count = 0
    pending = 1
    u16, u32 = _U16.unpack_from, _U32.unpack_from
    while pending and pos < end and count <= limit:
        pending -= 1
        count += 1
        b = data[pos]
        if b <= 0x7F or b >= 0xE0:
            pos += 1
        elif b <= 0x8F:
            pending += 2 * (b & 0x0F)
            pos += 1
        elif b <= 0x9F:
            pending += b & 0x0F
            pos += 1
        elif b <= 0xBF:
            pos += 1 + (b & 0x1F)
        elif b in _FIXED:
            pos += _FIXED[b]
        elif b in _SIZED:
            width, head = _SIZED[b]
            n = data[pos + 1] if width == 1 else (u16 if width == 2 else u32)(data, pos + 1)[0]
            pos += head + n
        elif b in _FIXEXT:
            pos += 2  # the payload, one value for the decoder's extensions, follows
            pending += 1
        elif b in _EXT:
            width, head = _EXT[b]
            pos += head
            pending += 1
        elif b == 0xDC:
            pending += u16(data, pos + 1)[0]
            pos += 3
        elif b == 0xDD:
            pending += u32(data, pos + 1)[0]
            pos += 5
        elif b == 0xDE:
            pending += 2 * u16(data, pos + 1)[0]
            pos += 3
        elif b == 0xDF:
            pending += 2 * u32(data, pos + 1)[0]
            pos += 5
        else:  # 0xc1: never valid
            return count
    return count


def check_counts(
    body: memoryview, results: int | None, chunks: int | None, values: int | None
) -> None:
    """Refuse, before decoding, a frame holding more than its reader accepts: ``results``
    items in a Result, ``chunks`` in a Chunk, ``values`` values in all (None: any).

    Raises:
        TooManyItems: a Result or Chunk over its item limit.
        ProtocolViolation: a large frame of more than ``values`` values.
    """
    # every item takes a byte at least: a frame no longer than the smaller limit holds
    # no more items than that, and is not peeked at (most replies are a few bytes)
    n = len(body)
    if (results is not None and n > results) or (chunks is not None and n > chunks):
        got = count_items(body)
        if got is not None:
            kind, count = got
            limit = results if kind == "result" else chunks
            if limit is not None and count > limit:
                raise TooManyItems(kind, count, limit)
    if values is not None and n > COUNT_FROM and count_values(body, values) > values:
        raise ProtocolViolation(
            f"a frame of {n:,} bytes holding more than {values:,} values (refused before decoding)"
        )
