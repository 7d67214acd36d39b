"""The connector toolkit: HTTP plumbing over ``ctx.http`` (limits, retries, pages).

Part of the plugin contract: it imports only ``_context`` and ``_errors``, so sandbox
workers load it as plugins do. ``_limits`` reads rate-limit headers, ``_pagination`` finds
next pages, ``_client`` puts them together behind :class:`ApiClient`.
"""

from __future__ import annotations

from ._client import ApiClient, HttpError, Page, Pages
from ._limits import is_rate_limited, limit_wait, quota_reset, retry_after
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
