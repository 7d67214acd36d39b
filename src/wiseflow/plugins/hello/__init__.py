"""``hello``: a tiny connector that yields a few greeting records (an example to copy)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from wiseflow import Checkpoint, ConnectorPlugin, Record


class HelloConnector(ConnectorPlugin):
    """Yields ``count`` greetings, resuming after the last one it delivered."""

    class Config(msgspec.Struct, frozen=True):
        count: Annotated[int, msgspec.Meta(description="how many greetings to yield")] = 3
        greeting: Annotated[str, msgspec.Meta(description="the word each title starts with")] = (
            "hello"
        )

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        cfg: HelloConnector.Config = self.ctx.config
        start = int((state or {}).get("next", 0))
        for i in range(start, cfg.count):
            yield Record(
                id=str(i),
                source=self.ctx.name,
                kind="greeting",
                time=datetime(2024, 1, 1 + i % 28, tzinfo=UTC),
                title=f"{cfg.greeting} #{i}",
                text=f"{cfg.greeting} world, number {i}",
            )
        yield Checkpoint(state={"next": cfg.count})
