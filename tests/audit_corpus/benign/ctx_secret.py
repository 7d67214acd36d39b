# declares: env=API_KEY; network=api.example.com:443
from wiseflow import ConnectorPlugin


class C(ConnectorPlugin):
    def initialize(self, ctx):
        self.ctx = ctx
        self.key = ctx.secret("API_KEY")

    def fetch(self, state):
        resp = self.ctx.http.get("https://api.example.com/items", headers={"X-Key": self.key})
        yield from resp.json()
