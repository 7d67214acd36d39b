"""GitHub REST API with pagination (Link), conditional requests (ETag) and rate limits.

Written ``async`` on purpose: the host drives async generators the same way as plain ones.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

import msgspec

from wiseflow import (
    Checkpoint,
    ConnectorPlugin,
    HttpResponse,
    PermissionDenied,
    PluginContext,
    PluginError,
    Record,
    TransientError,
)

__all__ = ["GitHubConnector"]

_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``github``.

    Attributes:
        repo: ``"owner/name"``.
        resource: ``issues`` (default), ``pulls``, ``commits`` or ``releases``.
        api_url: API base (default ``https://api.github.com``; GitHub Enterprise or a test server).
        since: ISO date; only items updated (issues, pulls) or committed (commits) since.
        per_page: page size asked for (default 100, GitHub's maximum).
        max_pages: stop after this many pages per run; 0 = no limit (default 0).
    """

    repo: str
    resource: Literal["issues", "pulls", "commits", "releases"] = "issues"
    api_url: str = "https://api.github.com"
    since: str | None = None
    per_page: int = 100
    max_pages: int = 0


def _links(header: str | None) -> dict[str, str]:
    return {rel: url for url, rel in _LINK.findall(header or "")}


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class GitHubConnector(ConnectorPlugin):
    """Pages through one resource list; state = high-water mark and the first page's ETag."""

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        if not _REPO.match(self.config.repo):
            from wiseflow import ConfigError

            raise ConfigError(
                f"github: repo {self.config.repo!r} must look like 'owner/name'", plugin="github"
            )
        try:
            self.token = ctx.secret("GITHUB_TOKEN")
        except PermissionDenied:
            self.token = None  # not granted: anonymous requests

    def _headers(self) -> dict[str, str]:
        h = {
            "Accept": "application/vnd.github+json",
            "User-Agent": "wiseflow-github/1.0",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def _check(self, resp: HttpResponse) -> None:
        """Raise for rate limits (TransientError with the wait) and other failures."""
        status, h = resp.status, resp.headers
        if status in (403, 429):
            retry_after: float | None = None
            if h.get("retry-after", "").strip().isdigit():
                retry_after = float(h["retry-after"])
            elif h.get("x-ratelimit-remaining") == "0" and h.get("x-ratelimit-reset", "").isdigit():
                retry_after = max(0.0, float(h["x-ratelimit-reset"]) - time.time())
            if retry_after is not None or status == 429:
                wait = retry_after if retry_after is not None else 60.0
                raise TransientError(
                    f"GitHub rate limit reached (HTTP {status}); retry in {wait:.0f} s",
                    plugin="github",
                    retry_after=wait,
                    hint="grant a GITHUB_TOKEN for a higher limit",
                )
        if status == 401:
            raise PluginError(
                "GitHub refused the credentials (HTTP 401)",
                plugin="github",
                hint="check the GITHUB_TOKEN secret granted to the github plugin",
            )
        if status == 404:
            raise PluginError(
                f"GitHub: {self.config.repo} not found (HTTP 404)",
                plugin="github",
                hint="check `repo`; private repositories need a GITHUB_TOKEN",
            )
        if status >= 500:
            raise TransientError(f"GitHub server error HTTP {status}", plugin="github")
        if status >= 400:
            raise PluginError(f"GitHub answered HTTP {status}: {self._said(resp)}", plugin="github")

    def _said(self, resp: HttpResponse) -> str:
        """GitHub's own error message, bounded; never the raw body.

        A proxy or test server may echo the request (the Authorization header included)
        in its body: only the JSON ``message`` is kept, cut, and the token masked anyway.
        """
        try:
            body = resp.json()
        except ValueError:
            body = None
        said = body.get("message") if isinstance(body, dict) else None
        text = " ".join(str(said).split())[:200] if said else "(no error message)"
        if self.token:
            text = text.replace(self.token, "***")
        return text

    def _first_url(self, since: str | None) -> str:
        cfg = self.config
        base = f"{cfg.api_url.rstrip('/')}/repos/{cfg.repo}"
        q = [f"per_page={cfg.per_page}"]
        if cfg.resource in ("issues", "pulls"):
            q += ["state=all", "sort=updated", "direction=asc"]
        if since and cfg.resource in ("issues", "commits"):
            q.append(f"since={since}")
        return f"{base}/{cfg.resource}?{'&'.join(q)}"

    async def fetch(self, state: dict[str, Any] | None) -> AsyncIterator[Record | Checkpoint]:
        st = dict(state or {})
        since = st.get("since") or self.config.since
        url: str | None = self._first_url(since)
        first, pages, high = True, 0, since
        visited: set[str] = set()
        while url:
            headers = self._headers()
            if first and st.get("etag") and st.get("url") == url:
                headers["If-None-Match"] = st["etag"]
            resp = self.ctx.http.get(url, headers=headers)
            if resp.status == 304:
                self.ctx.log.info("github: %s not modified", url)
                break
            self._check(resp)
            if first:
                st["etag"], st["url"] = resp.headers.get("etag"), url
                first = False
            body = resp.json()
            items = body if isinstance(body, list) else [body]
            for item in items:
                record = self._record(item)
                if record is None:
                    continue
                yield record
                stamp = record.data.get("updated_at") or record.data.get("date")
                if isinstance(stamp, str) and (high is None or stamp > high):
                    high = stamp
            pages += 1
            visited.add(url)
            url = _links(resp.headers.get("link")).get("next")
            if url in visited:  # a server looping its pagination must not loop us
                break
            if self.config.resource in ("issues", "pulls"):
                # ascending by update time: every page moves the high-water mark safely
                yield Checkpoint(state={**st, "since": high})
            if self.config.max_pages and pages >= self.config.max_pages:
                break
        yield Checkpoint(state={**st, "since": high})

    def _record(self, item: Any) -> Record | None:
        if not isinstance(item, dict):
            return None
        res = self.config.resource
        name = self.ctx.name
        if res in ("issues", "pulls"):
            # Old API answers carry "pull_request" with null URLs on plain issues.
            is_pull = res == "pulls" or bool((item.get("pull_request") or {}).get("html_url"))
            if res == "issues" and is_pull:
                return None
            user = item.get("user") or {}
            return Record(
                id=str(item.get("number")),
                source=name,
                kind="pull" if is_pull else "issue",
                time=_time(item.get("created_at")),
                title=item.get("title") or "",
                text=item.get("body") or "",
                url=item.get("html_url"),
                author=user.get("login"),
                tags=tuple(lab.get("name", "") for lab in item.get("labels") or []),
                data={
                    "number": item.get("number"),
                    "state": item.get("state"),
                    "comments": item.get("comments"),
                    "created_at": item.get("created_at"),
                    "updated_at": item.get("updated_at"),
                    "closed_at": item.get("closed_at"),
                    "milestone": (item.get("milestone") or {}).get("title"),
                },
            )
        if res == "commits":
            commit = item.get("commit") or {}
            author = commit.get("author") or {}
            message = commit.get("message") or ""
            return Record(
                id=str(item.get("sha")),
                source=name,
                kind="commit",
                time=_time(author.get("date")),
                title=message.split("\n", 1)[0],
                text=message,
                url=item.get("html_url"),
                author=author.get("name"),
                data={
                    "sha": item.get("sha"),
                    "email": author.get("email"),
                    "date": author.get("date"),
                    "login": (item.get("author") or {}).get("login"),
                    "parents": [p.get("sha") for p in item.get("parents") or []],
                },
            )
        return Record(
            id=str(item.get("id")),
            source=name,
            kind="release",
            time=_time(item.get("published_at") or item.get("created_at")),
            title=item.get("name") or item.get("tag_name") or "",
            text=item.get("body") or "",
            url=item.get("html_url"),
            author=(item.get("author") or {}).get("login"),
            data={
                "tag": item.get("tag_name"),
                "draft": item.get("draft"),
                "prerelease": item.get("prerelease"),
                "date": item.get("published_at"),
            },
        )
