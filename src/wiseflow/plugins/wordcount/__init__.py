"""``wordcount``: a tiny analyzer counting words across records (an example to copy)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any

import msgspec

from wiseflow import AnalyzerPlugin, Record

WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


class WordCountAnalyzer(AnalyzerPlugin):
    """Counts records and the ``top`` most frequent words of their text."""

    class Config(msgspec.Struct, frozen=True):
        top: Annotated[int, msgspec.Meta(description="how many of the most frequent words")] = 10

    def __init__(self) -> None:
        self.records = 0
        self.words: Counter[str] = Counter()

    def analyze(self, batch: list[Record]) -> None:
        self.records += len(batch)
        for record in batch:
            self.words.update(w.lower() for w in WORD.findall(f"{record.title} {record.text}"))

    def result(self) -> dict[str, Any]:
        top: int = self.ctx.config.top
        return {"records": self.records, "top_words": self.words.most_common(top)}
