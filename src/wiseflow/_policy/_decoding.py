"""Content-Encoding undone with a cap on every layer: a compression bomb costs its cap, no more.

The broker fetches for plugins, from servers a plugin's author may run. httpx decodes a
response as it reads it, with no bound on what one chunk decodes to: gzip turns 64 KiB into
64 MiB, and ``Content-Encoding: gzip, gzip`` turned 7 KB on the wire into 4 GiB in the host,
in one call. Here each layer's output is bounded (``zlib``'s ``max_length``) by the response
limit plus one byte, so crossing it is seen before anything larger is made.

Encodings are those httpx decodes here (``gzip``, ``x-gzip``, ``deflate``, ``identity``);
any other passes through undecoded, as httpx leaves it.
"""

from __future__ import annotations

import zlib
from typing import final

__all__ = ["BoundedDecoder", "DecodingFailed", "Oversize"]


class Oversize(Exception):
    """A layer's output passed the limit."""


class DecodingFailed(Exception):
    """The body is not what its Content-Encoding says."""


@final
class _Inflate:
    """One zlib layer; ``deflate`` tries the zlib wrapper first, then raw deflate (as httpx)."""

    __slots__ = ("_d", "_raw_fallback", "_started")

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._d = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``, at most ``room + 1`` bytes of output (one more: over the limit)."""
        try:
            out = self._d.decompress(data, room + 1)
        except zlib.error as exc:
            if not (self._raw_fallback and not self._started):
                raise DecodingFailed(str(exc)) from None
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            return self.feed(data, room)
        self._started = self._started or bool(data)
        return out

    def finish(self, room: int) -> bytes:
        try:
            out = self._d.flush()
        except zlib.error as exc:
            raise DecodingFailed(str(exc)) from None
        return out[: room + 1]


def _layer(name: str) -> _Inflate | None:
    if name in ("gzip", "x-gzip"):
        return _Inflate(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Inflate(zlib.MAX_WBITS, raw_fallback=True)
    return None  # identity, or one httpx would not decode either


@final
class BoundedDecoder:
    """Undo ``content_encoding`` (the header's value) chunk by chunk.

    :meth:`decode` and :meth:`finish` raise :class:`Oversize` once any layer has made more
    than ``limit`` bytes (the raw body included), :class:`DecodingFailed` for a broken body.
    """

    __slots__ = ("_layers", "_raw", "_sizes", "limit")

    def __init__(self, content_encoding: str, limit: int) -> None:
        names = [v.strip().lower() for v in content_encoding.split(",") if v.strip()]
        # the header lists layers in the order they were applied: undo the last one first
        self._layers = [x for x in (_layer(n) for n in reversed(names)) if x is not None]
        self._sizes = [0] * len(self._layers)
        self._raw = 0
        self.limit = limit

    def _count(self, i: int, out: bytes) -> None:
        self._sizes[i] += len(out)
        if self._sizes[i] > self.limit:
            raise Oversize

    def decode(self, data: bytes) -> bytes:
        """The decoded bytes of the next raw chunk ``data``."""
        self._raw += len(data)
        if self._raw > self.limit:
            raise Oversize
        for i, layer in enumerate(self._layers):
            if not data:
                break
            data = layer.feed(data, self.limit - self._sizes[i])
            self._count(i, data)
        return data

    def finish(self) -> bytes:
        """What the layers still hold once the raw body has ended."""
        out = b""
        for i, layer in enumerate(self._layers):
            room = self.limit - self._sizes[i]
            data = layer.feed(out, room) if out else b""
            data += layer.finish(room - len(data))
            self._count(i, data)
            out = data
        return out
