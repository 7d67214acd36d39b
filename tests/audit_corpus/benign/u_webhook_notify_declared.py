# declares: network=discord.com:443; env=DISCORD_WEBHOOK_URL
import os
import httpx


def notify(summary: str) -> None:
    url = os.environ["DISCORD_WEBHOOK_URL"]
    httpx.post(url, json={"content": summary[:1900]})
