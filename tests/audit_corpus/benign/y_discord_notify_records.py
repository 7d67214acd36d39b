# declares: network=discord.com:443; env=DISCORD_WEBHOOK
import os


def notify(ctx, records):
    url = os.environ["DISCORD_WEBHOOK"]
    text = "\n".join(r.data["title"] for r in records)[:1900]
    ctx.http.post(url, json={"content": text})
