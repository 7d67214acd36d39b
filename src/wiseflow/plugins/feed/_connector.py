"""Parse feeds with feedparser; URLs are fetched through ``ctx.http`` with ETag/Last-Modified."""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from wiseflow import Checkpoint, ConnectorPlugin, PluginContext, Record, TransientError

__all__ = ["FeedConnector"]

_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``feed``.

    Attributes:
        urls: feed URLs, fetched through the host (each one is a network grant).
        paths: feed files (each one is a read grant).
    """

    urls: Annotated[
        list[str],
        msgspec.Meta(description="feed URLs, fetched through the host (each one a network grant)"),
    ] = msgspec.field(default_factory=list)
    paths: Annotated[
        list[str],
        msgspec.Meta(
            description="RSS/Atom files (each one a read grant); relative to the pipeline file"
        ),
    ] = msgspec.field(default_factory=list)


def _time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


class FeedConnector(ConnectorPlugin):
    """One ``article`` record per feed entry; id = the entry's id, link, or a digest.

    The checkpoint keeps each URL's ``ETag``/``Last-Modified`` (a 304 means nothing new)
    and each file's mtime.
    """

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        if not self.config.urls and not self.config.paths:
            from wiseflow import ConfigError

            raise ConfigError("feed: give `urls` and/or `paths`", plugin="feed")

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        import feedparser

        st: dict[str, Any] = {
            "validators": dict((state or {}).get("validators", {})),
            "mtimes": dict((state or {}).get("mtimes", {})),
        }
        for path in self.config.paths:
            resolved = self.ctx.check_path(path)
            mtime = resolved.stat().st_mtime_ns
            if st["mtimes"].get(path) == mtime:
                continue
            parsed = feedparser.parse(self.ctx.read_path(resolved))
            yield from self._entries(parsed, path)
            st["mtimes"][path] = mtime
            yield Checkpoint(state=_copy(st))
        for url in self.config.urls:
            headers = {"User-Agent": "wiseflow-feed/1.0", "Accept": _ACCEPT}
            known = st["validators"].get(url, {})
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("modified"):
                headers["If-Modified-Since"] = known["modified"]
            resp = self.ctx.http.get(url, headers=headers)
            if resp.status == 304:
                continue
            if resp.status == 429 or resp.status >= 500:
                after = resp.headers.get("retry-after")
                raise TransientError(
                    f"feed {url}: HTTP {resp.status}",
                    plugin="feed",
                    retry_after=float(after) if after and after.isdigit() else None,
                )
            if resp.status >= 400:
                self.ctx.log.warning("feed %s: HTTP %s, skipped", url, resp.status)
                continue
            parsed = feedparser.parse(resp.content)
            yield from self._entries(parsed, url)
            st["validators"][url] = {
                "etag": resp.headers.get("etag"),
                "modified": resp.headers.get("last-modified"),
            }
            yield Checkpoint(state=_copy(st))
        yield Checkpoint(state=_copy(st))

    def _entries(self, parsed: Any, origin: str) -> Iterator[Record]:
        feed_title = parsed.feed.get("title", "")
        for entry in parsed.entries:
            link = entry.get("link")
            rid = entry.get("id") or link
            if not rid:
                basis = f"{origin}\n{entry.get('title', '')}\n{entry.get('summary', '')}"
                rid = hashlib.sha256(basis.encode()).hexdigest()[:24]
            content = entry.get("content")
            text = content[0].get("value", "") if content else entry.get("summary", "")
            yield Record(
                id=str(rid),
                source=self.ctx.name,
                kind="article",
                time=_time(entry),
                title=entry.get("title", ""),
                text=text,
                url=link,
                author=entry.get("author"),
                tags=tuple(t.get("term", "") for t in entry.get("tags", []) if t.get("term")),
                data={"feed": feed_title, "origin": origin},
            )


def _copy(st: dict[str, Any]) -> dict[str, Any]:
    return {"validators": dict(st["validators"]), "mtimes": dict(st["mtimes"])}
