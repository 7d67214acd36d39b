"""A plugin written the way authors write them, type-checked with mypy --strict."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec

from wiseflow import (
    AnalyzerPlugin,
    Checkpoint,
    ConnectorPlugin,
    Figure,
    PluginContext,
    ProcessorPlugin,
    Record,
    SkipRecord,
    TransientError,
)


class Feed(ConnectorPlugin):
    class Config(msgspec.Struct, frozen=True):
        url: str
        pages: int = 2

    def initialize(self, ctx: PluginContext) -> None:
        super().initialize(ctx)
        self.token = ctx.secret("FEED_TOKEN")

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        page = int((state or {}).get("page", 0))
        for p in range(page, self.ctx.config.pages):
            resp = self.ctx.http.get(self.ctx.config.url, params={"page": p})
            if resp.status == 429:
                raise TransientError("rate limited", retry_after=float(resp.headers["retry-after"]))
            for item in resp.json():
                yield Record(id=str(item["id"]), source=self.ctx.name, title=str(item["title"]))
            yield Checkpoint(state={"page": p + 1})


class AsyncFeed(ConnectorPlugin):
    async def fetch(self, state: dict[str, Any] | None) -> AsyncIterator[Record | Checkpoint]:
        yield Record(id="1", source=self.ctx.name)


class Clean(ProcessorPlugin):
    async def process(self, batch: list[Record]) -> list[Record]:
        out = []
        for r in batch:
            if not r.text:
                raise SkipRecord(r.id, "empty text")
            out.append(r.replace(text=r.text.strip()).annotate("clean", {"ok": True}))
        return out


class Count(AnalyzerPlugin):
    def initialize(self, ctx: PluginContext) -> None:
        super().initialize(ctx)
        self.n = 0

    def analyze(self, batch: list[Record]) -> None:
        self.n += len(batch)

    def result(self) -> dict[str, Any]:
        return {"records": self.n}

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        return [Figure("Records", f"<p>{result['records']}</p>"), "**done**"]
