"""``upper``: a tiny async processor that upper-cases titles (an example to copy)."""

from __future__ import annotations

from wiseflow import ProcessorPlugin, Record


class UpperProcessor(ProcessorPlugin):
    """Upper-cases each record's title and notes that it did."""

    async def process(self, batch: list[Record]) -> list[Record]:
        return [r.replace(title=r.title.upper()).annotate("upper", True) for r in batch]
