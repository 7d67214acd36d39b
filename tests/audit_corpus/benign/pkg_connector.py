# declares: network=api.example.com:443; env=EXAMPLE_TOKEN
from __future__ import annotations

import logging
from typing import Any

from wiseflow import ConnectorPlugin, Record

log = logging.getLogger(__name__)


class ExampleConnector(ConnectorPlugin):
    def initialize(self, ctx) -> None:
        self.ctx = ctx
        self.token = ctx.secret("EXAMPLE_TOKEN")

    def fetch(self, state: dict[str, Any] | None):
        cursor = (state or {}).get("cursor")
        while True:
            resp = self.ctx.http.get(
                "https://api.example.com/v2/events",
                params={"cursor": cursor} if cursor else None,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            page = resp.json()
            for item in page["data"]:
                yield Record(id=str(item["id"]), kind="event", data=item)
            cursor = page.get("next")
            if not cursor:
                break
