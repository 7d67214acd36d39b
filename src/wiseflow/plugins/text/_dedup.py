"""Duplicate detection: exact (normalised-text digest) and near (64-bit SimHash).

Near duplicates are found with the pigeonhole trick: two 64-bit fingerprints within
Hamming distance ``k <= 3`` agree exactly on at least one of four 16-bit bands, so each
band indexes candidates and only those are compared.
"""

from __future__ import annotations

import hashlib
import re
from typing import final

__all__ = ["ExactIndex", "NearIndex", "simhash"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
_MASK = (1 << 64) - 1


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def simhash(text: str, shingle: int = 3) -> int:
    """64-bit SimHash of ``text`` over word shingles of size ``shingle``."""
    words = [w.lower() for w in _TOKEN.findall(text)]
    if len(words) < shingle:
        grams = [" ".join(words)] if words else []
    else:
        grams = [" ".join(words[i : i + shingle]) for i in range(len(words) - shingle + 1)]
    if not grams:
        return 0
    weights = [0] * 64
    for gram in set(grams):
        h = _h64(gram)
        for bit in range(64):
            weights[bit] += 1 if (h >> bit) & 1 else -1
    out = 0
    for bit in range(64):
        if weights[bit] > 0:
            out |= 1 << bit
    return out & _MASK


@final
class ExactIndex:
    """Remembers digests of normalised text; says which record id first had it."""

    def __init__(self) -> None:
        self._first: dict[bytes, str] = {}

    def check(self, rid: str, text: str) -> str | None:
        key = hashlib.blake2b(" ".join(text.lower().split()).encode(), digest_size=16).digest()
        first = self._first.setdefault(key, rid)
        return None if first == rid else first


@final
class NearIndex:
    """SimHash index: finds an earlier record within ``max_distance`` bits."""

    def __init__(self, max_distance: int = 3) -> None:
        if not 0 <= max_distance <= 3:
            raise ValueError("max_distance must be between 0 and 3 (four 16-bit bands)")
        self.max_distance = max_distance
        self._bands: list[dict[int, list[tuple[int, str]]]] = [{} for _ in range(4)]

    def check(self, rid: str, text: str) -> tuple[str, int] | None:
        """The earliest near duplicate ``(id, distance)`` of ``text``, or None; then index it."""
        fp = simhash(text)
        best: tuple[str, int] | None = None
        for band, index in enumerate(self._bands):
            for other, other_id in index.get((fp >> (16 * band)) & 0xFFFF, ()):
                d = (fp ^ other).bit_count()
                if d <= self.max_distance and other_id != rid and (best is None or d < best[1]):
                    best = (other_id, d)
        if best is None:
            for band, index in enumerate(self._bands):
                index.setdefault((fp >> (16 * band)) & 0xFFFF, []).append((fp, rid))
        return best
