# declares: network=example.org:443
from wiseflow import ConnectorPlugin, Record


class Feed(ConnectorPlugin):
    def initialize(self, ctx):
        self.ctx = ctx

    def fetch(self, state):
        resp = self.ctx.http.get("https://example.org/feed.json")
        for item in resp.json()["items"]:
            yield Record(id=item["id"], kind="item", data=item)
