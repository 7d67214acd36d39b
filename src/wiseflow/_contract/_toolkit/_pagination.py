"""How to find the next page: ``Link`` headers, a cursor in the body, or page numbers.

Each strategy answers two questions about a page it was shown: which items it holds, and
the URL of the page after it (None at the end). Strategies keep no state between
listings, so one instance may serve many :meth:`ApiClient.paginate` calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, final
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .._context import HttpResponse

__all__ = [
    "CursorPagination",
    "LinkPagination",
    "PageNumberPagination",
    "Pagination",
    "parse_link_header",
]

#: Where a page's items are: a key path ("data", "result.items") or a function of the body.
ItemsSpec = str | Callable[[Any], list[Any]] | None

_PARAM = re.compile(r'\s*;\s*([A-Za-z0-9!#$&+.^_`|~-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*))?')


def parse_link_header(value: str | None) -> dict[str, str]:
    """The ``rel`` → URL pairs of an RFC 8288 ``Link`` header; malformed parts are skipped.

    Handles quoted or bare ``rel``, several relations in one ``rel="next last"``, commas
    inside ``<...>`` and extra parameters. The first link of a relation wins.

    Example:
        >>> parse_link_header('<https://x/?page=2>; rel="next", <https://x/?page=9>; rel=last')
        {'next': 'https://x/?page=2', 'last': 'https://x/?page=9'}
    """
    links: dict[str, str] = {}
    text = value or ""
    pos = 0
    while True:
        start = text.find("<", pos)
        if start < 0:
            return links
        end = text.find(">", start)
        if end < 0:
            return links
        url = text[start + 1 : end].strip()
        pos = end + 1
        rels: list[str] = []
        while True:
            m = _PARAM.match(text, pos)
            if m is None:
                break
            pos = m.end()
            if m.group(1).lower() == "rel" and m.group(2):
                rels += m.group(2).strip('"').lower().split()
        for rel in rels:
            if url and rel not in links:
                links[rel] = url


def _dig(body: Any, path: str) -> Any:
    for key in path.split(".") if path else ():
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _items(body: Any, spec: ItemsSpec) -> list[Any]:
    if callable(spec):
        return list(spec(body))
    value = body if spec is None else _dig(body, spec)
    return value if isinstance(value, list) else []


def with_param(url: str, name: str, value: str) -> str:
    """``url`` with the query parameter ``name`` set to ``value`` (replaced if present)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


class Pagination(Protocol):
    """What :meth:`ApiClient.paginate` asks of a strategy. Implement both methods to add one."""

    def items(self, body: Any) -> list[Any]:
        """The items of a page, given its parsed JSON body."""
        ...

    def next_url(self, url: str, response: HttpResponse, body: Any, items: list[Any]) -> str | None:
        """The URL of the page after the one at ``url``; None when it was the last."""
        ...


@final
class LinkPagination:
    """Follow ``Link: <...>; rel="next"`` (GitHub, GitLab, many REST APIs).

    Args:
        items: where the items are in a page's body: None (the body is the list), a key
            path such as ``"items"``, or a function of the body.

    Example:
        >>> pages = api.paginate(f"{base}/repos/o/r/issues?per_page=100", LinkPagination())
    """

    __slots__ = ("_items",)

    def __init__(self, items: ItemsSpec = None) -> None:
        self._items = items

    def items(self, body: Any) -> list[Any]:
        return _items(body, self._items)

    def next_url(self, url: str, response: HttpResponse, body: Any, items: list[Any]) -> str | None:
        nxt = parse_link_header(response.headers.get("link")).get("next")
        if not nxt:
            return None
        joined = urljoin(response.url or url, nxt)  # relative links are allowed
        return joined if urlsplit(joined).scheme in ("http", "https") else None


@final
class CursorPagination:
    """A cursor in the body, sent back as a query parameter (Slack, Notion, Stripe-like).

    Args:
        cursor: key path of the next cursor in the body (``"meta.next_cursor"``); the
            listing ends when it is missing, null or empty.
        param: query parameter that carries the cursor (``"cursor"``).
        items: where the items are (see :class:`LinkPagination`).

    Example:
        >>> pages = api.paginate(url, CursorPagination("next_cursor", "cursor", items="data"))
    """

    __slots__ = ("_cursor", "_items", "_param")

    def __init__(self, cursor: str, param: str = "cursor", items: ItemsSpec = "data") -> None:
        self._cursor = cursor
        self._param = param
        self._items = items

    def items(self, body: Any) -> list[Any]:
        return _items(body, self._items)

    def next_url(self, url: str, response: HttpResponse, body: Any, items: list[Any]) -> str | None:
        cursor = _dig(body, self._cursor)
        if cursor is None or cursor == "" or isinstance(cursor, dict | list | bool):
            return None
        return with_param(url, self._param, str(cursor))


@final
class PageNumberPagination:
    """``?page=1``, ``?page=2``, ... until a page comes back empty (or short).

    Args:
        param: the page-number query parameter (``"page"``).
        start: number of the first page (1).
        per_page: when given, a page with fewer items is the last one (saves a request).
        items: where the items are (see :class:`LinkPagination`).
    """

    __slots__ = ("_items", "_param", "_per_page", "_start")

    def __init__(
        self,
        param: str = "page",
        *,
        start: int = 1,
        per_page: int | None = None,
        items: ItemsSpec = None,
    ) -> None:
        self._param = param
        self._start = start
        self._per_page = per_page
        self._items = items

    def items(self, body: Any) -> list[Any]:
        return _items(body, self._items)

    def next_url(self, url: str, response: HttpResponse, body: Any, items: list[Any]) -> str | None:
        if not items or (self._per_page is not None and len(items) < self._per_page):
            return None
        current = dict(parse_qsl(urlsplit(url).query)).get(self._param)
        try:
            number = int(current) if current is not None else self._start
        except ValueError:
            return None
        return with_param(url, self._param, str(number + 1))
