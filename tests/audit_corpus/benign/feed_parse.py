# declares: network={urls}
import feedparser


def entries(ctx, url):
    raw = ctx.http.get(url).content
    return feedparser.parse(raw).entries
