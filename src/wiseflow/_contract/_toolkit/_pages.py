"""A listing's pages, fetched one at a time as the caller iterates.

:class:`Pages` drives :meth:`ApiClient._exchange` page by page; each step gives a
:class:`Page`: a real page, or a pause between the slices of a long wait.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, final

from .._context import HttpResponse
from .._errors import PluginError
from ._answer import quote, shown
from ._pagination import Pagination

if TYPE_CHECKING:
    from ._client import ApiClient

__all__ = ["Page", "Pages"]


@final
class Page:
    """One page of a listing, or a pause inside a long wait.

    Attributes:
        items: the page's items (empty for a pause).
        number: 1 for the first page; a pause carries the number of the page it waits for.
        url: the URL of the page.
        response: the response (None for a pause).
        body: the parsed JSON body (None for a pause).
        waiting: seconds slept in this pause; 0.0 for a real page.
    """

    __slots__ = ("body", "items", "number", "response", "url", "waiting")

    def __init__(
        self,
        *,
        items: list[Any],
        number: int,
        url: str,
        response: HttpResponse | None,
        body: Any = None,
        waiting: float = 0.0,
    ) -> None:
        self.items = items
        self.number = number
        self.url = url
        self.response = response
        self.body = body
        self.waiting = waiting

    def __repr__(self) -> str:
        if self.response is None:
            return f"<Page {self.number} waiting {self.waiting:g}s>"
        return f"<Page {self.number} {len(self.items)} items>"


@final
class Pages(Iterator[Page]):
    """The pages of one listing, fetched one at a time as you iterate.

    A page that hits a rate limit is asked for again after the wait: the listing goes on
    from the same page. Waits longer than ``max_sleep_s`` come as pauses
    (``page.waiting > 0``, no items) between which the caller may yield a checkpoint.

    Attributes:
        not_modified: True when the conditional first request got 304 (no pages follow).
        etag: the first page's ETag, for the next run's conditional request.
        last_modified: the first page's Last-Modified, likewise.
        count: pages fetched so far.

    Raises:
        PluginError: a page that is not JSON, or a next page pointing back to a page
            already fetched (a cursor or Link loop).
    """

    __slots__ = (
        "_api",
        "_etag_in",
        "_exchange",
        "_headers",
        "_loop",
        "_modified_in",
        "_next",
        "_pagination",
        "_seen",
        "count",
        "etag",
        "last_modified",
        "max_pages",
        "not_modified",
    )

    def __init__(
        self,
        api: ApiClient,
        url: str,
        pagination: Pagination,
        headers: Mapping[str, str] | None,
        etag: str | None,
        last_modified: str | None,
        max_pages: int,
    ) -> None:
        self._api = api
        self._pagination = pagination
        self._headers = headers
        self._etag_in = etag
        self._modified_in = last_modified
        self._next: str | None = url
        self._seen: set[str] = set()
        self._exchange: Generator[float, None, HttpResponse] | None = None
        self._loop: PluginError | None = None
        self.max_pages = max_pages
        self.count = 0
        self.not_modified = False
        self.etag: str | None = None
        self.last_modified: str | None = None

    def __iter__(self) -> Pages:
        return self

    def __next__(self) -> Page:
        if self._loop is not None:
            loop, self._loop = self._loop, None
            raise loop
        url = self._next
        if url is None or (self.max_pages and self.count >= self.max_pages):
            raise StopIteration
        if self._exchange is None:
            first = self.count == 0
            self._exchange = self._api._exchange(
                "GET",
                url,
                self._headers,
                None,
                self._etag_in if first else None,
                self._modified_in if first else None,
            )
        try:
            slept = next(self._exchange)
        except StopIteration as done:
            self._exchange = None
            return self._page(url, done.value)
        except BaseException:
            self._next, self._exchange = None, None
            raise
        return Page(items=[], number=self.count + 1, url=url, response=None, waiting=slept)

    def _page(self, url: str, response: HttpResponse) -> Page:
        self._seen.add(url)
        self.count += 1
        if self.count == 1:
            self.etag = response.headers.get("etag")
            self.last_modified = response.headers.get("last-modified")
        if response.status == 304:
            self.not_modified = True
            self._next = None
            raise StopIteration
        try:
            body = response.json() if response.content else None
        except ValueError:
            self._next = None
            raise PluginError(
                f"page {self.count} of {shown(url)} is not JSON: "
                f"{quote(response, {**self._api.headers, **(self._headers or {})})}",
                plugin=self._api.plugin,
            ) from None
        items = self._pagination.items(body)
        nxt = self._pagination.next_url(url, response, body, items)
        if nxt is not None and nxt in self._seen:
            # This page's items are good; the loop ends the listing when the next is asked.
            self._loop = PluginError(
                f"pagination loops: page {self.count} of {shown(url)} points back to a "
                "page already fetched",
                plugin=self._api.plugin,
                hint="the server repeats a cursor or a next link; the listing stopped there",
            )
            nxt = None
        self._next = nxt
        return Page(items=items, number=self.count, url=url, response=response, body=body)
