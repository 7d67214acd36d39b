"""Reading what a server says about rate limits: ``Retry-After`` and ``X-RateLimit-*``.

Pure functions over an :class:`~wiseflow.HttpResponse` and a clock, so each rule is tested
without a server. Hostile values (negative, enormous, malformed) are parsed, never trusted
blindly: the caller bounds every wait (``max_wait_s``, ``max_sleep_s``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .._context import HttpResponse

__all__ = ["is_rate_limited", "limit_wait", "quota_reset", "retry_after"]

#: How much of a 403 body is searched for GitHub's "rate limit" wording.
_BODY_SCAN = 2048


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds asked for by ``Retry-After`` (delay-seconds or an HTTP date), or None.

    A date in the past means "now" (0.0); a malformed value is ignored (None).

    Example:
        >>> retry_after({"retry-after": "7"}, now=0.0)
        7.0
        >>> retry_after({"retry-after": "soon"}, now=0.0) is None
        True
    """
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _http_date(value, now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _http_date(value: str, now: float) -> float | None:
    from email.utils import parsedate_to_datetime  # only for the rare date form

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less one is read as such
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def quota_reset(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (epoch seconds) when the quota is spent, else None.

    Example:
        >>> quota_reset({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "130"}, now=100.0)
        30.0
    """
    if headers.get("x-ratelimit-remaining", "").strip() != "0":
        return None
    try:
        reset = float(headers.get("x-ratelimit-reset", "").strip())
    except ValueError:
        return None
    if not math.isfinite(reset):
        return None
    return max(0.0, reset - now)


def is_rate_limited(response: HttpResponse) -> bool:
    """True for 429, and for a 403 that is a rate limit rather than a refusal.

    GitHub answers an exhausted quota with 403 and ``X-RateLimit-Remaining: 0``, and its
    secondary limits with 403 (or 429), a ``Retry-After`` and a body saying "rate limit".
    Any other 403 is a real refusal and must fail at once.
    """
    if response.status == 429:
        return True
    if response.status != 403:
        return False
    h = response.headers
    if "retry-after" in h or h.get("x-ratelimit-remaining", "").strip() == "0":
        return True
    return b"rate limit" in response.content[:_BODY_SCAN].lower()


def limit_wait(response: HttpResponse, now: float, default: float) -> float:
    """Seconds to wait before asking again after a rate-limited ``response``.

    ``Retry-After`` wins, then ``X-RateLimit-Reset``; ``default`` when the server said
    neither. The result is never negative; bounding it is the caller's job.
    """
    h = response.headers
    for wait in (retry_after(h, now), quota_reset(h, now)):
        if wait is not None:
            return wait
    return default
