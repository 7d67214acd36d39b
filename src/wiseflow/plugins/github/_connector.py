"""GitHub REST API through the connector toolkit (Link pages, rate limits, ETags).

Written ``async`` on purpose: the host drives async generators the same way as plain ones.
The HTTP plumbing is :class:`wiseflow.ApiClient`'s: a rate limit in the middle of a listing
is waited out (within ``max_wait_s``) and the listing goes on from the same page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import msgspec

from wiseflow import (
    ApiClient,
    Checkpoint,
    ConnectorPlugin,
    HttpError,
    LinkPagination,
    PermissionDenied,
    PluginContext,
    PluginError,
    Record,
    SkipRecord,
)

__all__ = ["GitHubConnector"]

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
#: An ISO 8601 date or date-time (what GitHub's ``since`` takes), checked before any request.
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
#: The field that identifies an item, per resource, in order of preference.
_KEYS: dict[str, tuple[str, ...]] = {
    "issues": ("number", "id"),
    "pulls": ("number", "id"),
    "commits": ("sha",),
    "releases": ("id",),
}


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``github``.

    Attributes:
        repo: ``"owner/name"``.
        resource: ``issues`` (default), ``pulls``, ``commits`` or ``releases``.
        api_url: API base (default ``https://api.github.com``; GitHub Enterprise or a test server).
        since: ISO date; only items updated (issues, pulls) or committed (commits) since.
        per_page: page size asked for (default 100, GitHub's maximum).
        max_pages: stop after this many pages per run; 0 = no limit (default 0).
        max_wait_s: seconds a run may spend waiting out rate limits and server errors
            before the source fails with WF407 (default 300); 0 = never wait.
    """

    repo: Annotated[str, msgspec.Meta(description="the repository, as `owner/name`")]
    resource: Annotated[
        Literal["issues", "pulls", "commits", "releases"],
        msgspec.Meta(description="what to list: issues, pulls, commits or releases"),
    ] = "issues"
    api_url: Annotated[
        str, msgspec.Meta(description="API base: GitHub Enterprise or a test server")
    ] = "https://api.github.com"
    since: Annotated[
        str | None,
        msgspec.Meta(
            description="ISO date; only items updated (issues, pulls) or committed (commits) since"
        ),
    ] = None
    per_page: Annotated[
        int, msgspec.Meta(ge=1, le=100, description="page size asked for (100 is GitHub's maximum)")
    ] = 100
    max_pages: Annotated[
        int, msgspec.Meta(ge=0, description="stop after this many pages per run; 0 = no limit")
    ] = 0
    max_wait_s: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            le=86400,
            description="seconds a run may spend waiting out rate limits and server errors "
            "before the source fails with WF407; 0 = never wait",
        ),
    ] = 300.0

    def __post_init__(self) -> None:
        if self.since is not None and not _ISO_DATE.match(self.since):
            raise ValueError(f"since: {self.since!r} is not an ISO date (e.g. 2024-01-31)")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _key(item: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    """The item's id as text: the first of ``fields`` holding a number or a non-empty string."""
    for field in fields:
        value = item.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
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

    def _refused(self, exc: HttpError) -> PluginError:
        """GitHub's refusals in the operator's terms (401: the token, 404: the repo)."""
        if exc.status == 401:
            return PluginError(
                "GitHub refused the credentials (HTTP 401)",
                plugin="github",
                hint="check the GITHUB_TOKEN secret granted to the github plugin",
            )
        if exc.status == 404:
            return PluginError(
                f"GitHub: {self.config.repo} not found (HTTP 404)",
                plugin="github",
                hint="check `repo`; private repositories need a GITHUB_TOKEN",
            )
        return PluginError(f"GitHub answered HTTP {exc.status}: {exc.detail}", plugin="github")

    def _first_url(self, since: str | None) -> str:
        cfg = self.config
        base = f"{cfg.api_url.rstrip('/')}/repos/{cfg.repo}"
        q = [f"per_page={cfg.per_page}"]
        if cfg.resource in ("issues", "pulls"):
            q += ["state=all", "sort=updated", "direction=asc"]
        if since and cfg.resource in ("issues", "commits"):
            q.append(f"since={quote(since, safe=':')}")  # a `+` offset is not a space
        return f"{base}/{cfg.resource}?{'&'.join(q)}"

    async def fetch(
        self, state: dict[str, Any] | None
    ) -> AsyncIterator[Record | Checkpoint | SkipRecord]:
        cfg = self.config
        st = dict(state or {})
        since = st.get("since") or cfg.since
        url = self._first_url(since)
        api = ApiClient(
            self.ctx.http, log=self.ctx.log, headers=self._headers(), max_wait_s=cfg.max_wait_s
        )
        pages = api.paginate(
            url,
            LinkPagination(),
            etag=st.get("etag") if st.get("url") == url else None,
            max_pages=cfg.max_pages,
        )
        high = since
        delivered = dict(state or {})  # the newest state yielded (a pause repeats it)
        try:
            for page in pages:
                if page.response is None:
                    # A pause inside a long wait: nothing new, but the stream stays alive
                    # under the plugin's timeout_s (each wait for an item is bounded by it).
                    yield Checkpoint(state=delivered)
                    continue
                if page.number == 1:
                    st["etag"], st["url"] = pages.etag, url
                for at, item in enumerate(page.items):
                    record = self._record(item, page.number, at)
                    if record is None:
                        continue
                    yield record
                    if isinstance(record, Record):
                        stamp = record.data.get("updated_at") or record.data.get("date")
                        if isinstance(stamp, str) and (high is None or stamp > high):
                            high = stamp
                if cfg.resource in ("issues", "pulls"):
                    # ascending by update time: every page moves the high-water mark safely
                    delivered = {**st, "since": high}
                    yield Checkpoint(state=delivered)
        except HttpError as exc:
            raise self._refused(exc) from exc
        if pages.not_modified:
            self.ctx.log.info("github: %s not modified", url)
        self.ctx.log.info(
            "github: listing read",
            pages=pages.count,
            requests=api.requests,
            waited_s=round(api.waited_s, 1),
        )
        yield Checkpoint(state={**st, "since": high})

    def _record(self, item: Any, page: int, at: int) -> Record | SkipRecord | None:
        """The record for one listed item; a SkipRecord (dead letter) when it has no key."""
        res = self.config.resource
        where = f"{res} page {page} item {at + 1}"
        if not isinstance(item, dict):
            return SkipRecord(where, f"not a JSON object but {type(item).__name__}")
        if res == "issues" and bool((item.get("pull_request") or {}).get("html_url")):
            return None  # the issues list includes pulls; old answers carry null URLs on issues
        key = _key(item, _KEYS[res])
        if key is None:
            link = item.get("html_url") or item.get("url")
            shown = link if isinstance(link, str) and link else where
            wanted = " or ".join(repr(k) for k in _KEYS[res])
            return SkipRecord(shown, f"{where} has no {wanted} to key it by")
        name = self.ctx.name
        if res in ("issues", "pulls"):
            is_pull = res == "pulls" or bool((item.get("pull_request") or {}).get("html_url"))
            user = item.get("user") or {}
            return Record(
                id=key,
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
                id=key,
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
            id=key,
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
