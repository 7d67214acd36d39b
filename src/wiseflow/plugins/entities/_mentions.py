"""Packages mentioned in the text of records whose own package is known (changelogs).

A mention is a record whose text names a package, as a whole word, among the packages
the records are about (``data.package``): each record counts once per package it names.
Package names that are everyday words in prose (``patch``, ``file``, ``make``, ...) are
not counted: in a changelog they are nearly always the word, not the package.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["Mentions"]

_WORD = re.compile(r"(?<![\w+.\-/])([a-z0-9][a-z0-9+.\-]*[a-z0-9+])(?![\w+\-/])")
_PROSE = frozenset(
    ("at", "attr", "audit", "base", "bc", "cron", "dash", "diff", "ed", "file", "find", "info",
     "less", "login", "make", "man", "more", "mount", "patch", "screen", "shadow", "tar", "time",
     "tree", "util", "watch", "which", "whois")
)  # fmt: skip
_LIMIT = 300_000  # distinct words kept before singletons are pruned (bounded memory)


class Mentions:
    """Counts, per word, the records naming it; :meth:`packages` keeps package names."""

    def __init__(self) -> None:
        self.words: Counter[str] = Counter()

    def add(self, text: str) -> None:
        self.words.update(set(_WORD.findall(text[:100_000])))
        if len(self.words) > _LIMIT:
            self.words = Counter({w: n for w, n in self.words.items() if n > 1})

    def packages(self, known: set[str] | frozenset[str]) -> Counter[str]:
        """Records naming each of the ``known`` packages (prose words left out)."""
        return Counter({w: n for w, n in self.words.items() if w in known and w not in _PROSE})
