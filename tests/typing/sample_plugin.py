"""A plugin written the way authors write them, type-checked with mypy --strict."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec

from wiseflow import (
    AnalyzerPlugin,
    ApiClient,
    Checkpoint,
    ConnectorPlugin,
    CursorPagination,
    Figure,
    HttpError,
    LinkPagination,
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


class Tickets(ConnectorPlugin):
    """The connector toolkit as authors use it: pages, pauses, refused items, ETags."""

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint | SkipRecord]:
        api = ApiClient(self.ctx.http, log=self.ctx.log, max_wait_s=120.0, max_sleep_s=10.0)
        st = dict(state or {})
        pages = api.paginate(
            "https://api.example/t", LinkPagination(items="items"), etag=st.get("etag")
        )
        try:
            for page in pages:
                if page.response is None:
                    yield Checkpoint(state=st)
                    continue
                for item in page.items:
                    if "id" not in item:
                        yield SkipRecord(f"page {page.number}", "no id")
                        continue
                    yield Record(id=str(item["id"]), source=self.ctx.name)
        except HttpError as exc:
            if exc.status == 404:
                return
            raise
        cursor = api.paginate("https://api.example/c", CursorPagination("next", items="data"))
        for page in cursor:
            yield from (Record(id=str(i), source=self.ctx.name) for i in page.items)
        yield Checkpoint(state={"etag": pages.etag or "", "waited": api.waited_s})


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
