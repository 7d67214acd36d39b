"""The connector toolkit: HTTP plumbing over ``ctx.http`` (limits, retries, pages).

Part of the plugin contract: it imports only ``_context`` and ``_errors``, so sandbox
workers load it as plugins do. ``_limits`` reads rate-limit headers, ``_pagination`` finds
next pages, ``_answer`` turns a refusal into :class:`HttpError`, ``_pages`` iterates over a
listing, and ``_client`` puts them together behind :class:`ApiClient`.
"""

from __future__ import annotations

from ._answer import HttpError
from ._client import ApiClient
from ._limits import is_rate_limited, limit_wait, quota_reset, retry_after
from ._pages import Page, Pages
from ._pagination import (
    CursorPagination,
    LinkPagination,
    PageNumberPagination,
    Pagination,
    parse_link_header,
)

__all__ = [
    "ApiClient",
    "CursorPagination",
    "HttpError",
    "LinkPagination",
    "Page",
    "PageNumberPagination",
    "Pages",
    "Pagination",
    "is_rate_limited",
    "limit_wait",
    "parse_link_header",
    "quota_reset",
    "retry_after",
]
