"""``ApiClient``: the HTTP plumbing every connector needs, over ``ctx.http``.

It uses only the public plugin API (``ctx.http``, ``ctx.log``, the errors of ``wiseflow``),
so it behaves the same in a trusted plugin and in a sandboxed worker, where each request
crosses to the host's broker and every wait is slept in the worker.

What one request goes through::

    send ──► 2xx / 304 ─────────────────────────────► returned
      │
      ├──► 429, or 403 that is a rate limit ────────► wait as told (Retry-After,
      │                                                X-RateLimit-Reset), send again
      ├──► 2xx saying X-RateLimit-Remaining: 0 ─────► returned; the next request first
      │                                                waits for X-RateLimit-Reset
      ├──► 5xx, or a connection error/timeout ──────► back off (exponential + jitter),
      │                                                send again, at most `attempts` times
      └──► any other status ────────────────────────► HttpError (no retry)

Every wait counts toward ``max_wait_s`` for the client's lifetime: a wait that would cross
it raises ``TransientError(retry_after=...)`` at once instead of sleeping. No single sleep
is longer than ``max_sleep_s``; between two slices of a long wait :meth:`ApiClient.paginate`
yields an empty "waiting" page, so a connector that yields a checkpoint after every page
keeps its stream alive under the plugin's ``timeout_s``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Mapping
from typing import final

from .._context import HttpClient, HttpResponse, PluginLogger
from .._errors import TransientError
from ._answer import HttpError, quote, shown
from ._limits import is_rate_limited, limit_wait, quota_reset, retry_after
from ._pages import Pages
from ._pagination import LinkPagination, Pagination

__all__ = ["ApiClient"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@final
class ApiClient:
    """Requests with rate limits waited out, retries with backoff, and pagination.

    Args:
        http: the plugin's ``ctx.http``.
        log: the plugin's ``ctx.log`` (waits and retries are logged as warnings).
        plugin: the name errors carry (default: the logger's plugin).
        headers: sent with every request (``Accept``, ``Authorization``, ...).
        max_wait_s: total seconds this client may spend waiting (rate limits and backoff)
            before it gives up with ``TransientError(retry_after=...)``.
        max_sleep_s: longest single sleep; keep it well below the plugin's ``timeout_s``
            (a stream must yield something at least that often).
        attempts: tries per request for 5xx answers and connection errors.
        backoff_s: first backoff; doubled per failed try, plus up to 50 % jitter.
        limit_wait_s: wait after a rate limit that names no time (GitHub: "a minute").
        min_limit_wait_s: shortest wait after a rate limit, so a server announcing a reset
            in the past is not asked again at once.
        sleep: how to sleep (``time.sleep``); injectable for tests.
        clock: epoch seconds now (``time.time``), for reset times and HTTP dates.
        rng: a number in [0, 1) for the jitter (``random.random``).

    Example:
        ```python
        api = ApiClient(ctx.http, log=ctx.log, headers={"Accept": "application/json"})
        for page in api.paginate(f"{base}/items?per_page=100", LinkPagination()):
            for item in page.items:
                yield Record(id=str(item["id"]), source=ctx.name, title=item["name"])
            yield Checkpoint(state=state)  # also keeps the stream alive during long waits
        ```

    Attributes:
        waited_s: seconds waited so far (counted against ``max_wait_s``).
        requests: requests sent so far, retries included.
    """

    __slots__ = (
        "_clock",
        "_http",
        "_log",
        "_resume_at",
        "_rng",
        "_sleep",
        "attempts",
        "backoff_s",
        "headers",
        "limit_wait_s",
        "max_sleep_s",
        "max_wait_s",
        "min_limit_wait_s",
        "plugin",
        "requests",
        "waited_s",
    )

    def __init__(
        self,
        http: HttpClient,
        *,
        log: PluginLogger | None = None,
        plugin: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_wait_s: float = 300.0,
        max_sleep_s: float = 20.0,
        attempts: int = 4,
        backoff_s: float = 1.0,
        limit_wait_s: float = 60.0,
        min_limit_wait_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_sleep_s <= 0 or max_wait_s < 0 or attempts < 1:
            raise ValueError("ApiClient needs max_sleep_s > 0, max_wait_s >= 0, attempts >= 1")
        self._http = http
        self._log = log
        self.plugin = plugin if plugin is not None else getattr(log, "plugin", None)
        self.headers = dict(headers or {})
        self.max_wait_s = float(max_wait_s)
        self.max_sleep_s = float(max_sleep_s)
        self.attempts = attempts
        self.backoff_s = float(backoff_s)
        self.limit_wait_s = float(limit_wait_s)
        self.min_limit_wait_s = float(min_limit_wait_s)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.waited_s = 0.0
        self.requests = 0
        self._resume_at: float | None = None

    # -- one request -------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> HttpResponse:
        """Send one request through limits and retries; returns a 2xx or 304 response.

        ``etag`` / ``last_modified`` (from an earlier response) make the request
        conditional: an unchanged resource comes back as status 304 with no body.

        Raises:
            HttpError: a status retrying cannot fix (401, 404, 422, ...).
            TransientError: retries exhausted, or a wait beyond ``max_wait_s``
                (``retry_after`` says how long the server asked for).
        """
        exchange = self._exchange(method, url, headers, content, etag, last_modified)
        while True:
            try:
                next(exchange)  # a pause: a plain request has nothing to yield, so wait on
            except StopIteration as done:
                response: HttpResponse = done.value
                return response

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> HttpResponse:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, headers=headers, etag=etag, last_modified=last_modified)

    def paginate(
        self,
        url: str,
        pagination: Pagination | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        max_pages: int = 0,
    ) -> Pages:
        """Iterate over the pages of a listing (see :class:`Pages`).

        Args:
            url: the first page.
            pagination: how to find the next page (default :class:`LinkPagination`).
            etag: the first page's ETag from an earlier run (``If-None-Match``); a 304
                ends the listing at once with ``pages.not_modified`` set.
            last_modified: the same with ``Last-Modified`` (``If-Modified-Since``).
            max_pages: stop after this many pages (0: no limit).
        """
        return Pages(self, url, pagination or LinkPagination(), headers, etag, last_modified,
                     max_pages)  # fmt: skip

    # -- internals ---------------------------------------------------------------------

    def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        content: bytes | str | None,
        etag: str | None,
        last_modified: str | None,
    ) -> Generator[float, None, HttpResponse]:
        """Send until an answer is final; yields between the slices of every long wait."""
        method = method.upper()
        hdrs = {**self.headers, **(headers or {})}
        if etag:
            hdrs["If-None-Match"] = etag
        if last_modified:
            hdrs["If-Modified-Since"] = last_modified
        failures = 0
        while True:
            if self._resume_at is not None:
                # The last answer spent the quota: wait for its reset instead of being refused.
                early = self._resume_at - self._clock()
                self._resume_at = None
                if early > 0:
                    yield from self._wait(early, f"rate limit of {shown(url)} used up")
            try:
                response = self._http.request(method, url, headers=hdrs, content=content)
            except TransientError as exc:  # the broker: connection refused, reset, timeout
                self.requests += 1
                failures += 1
                if method not in _IDEMPOTENT or failures >= self.attempts:
                    raise TransientError(
                        f"{method} {shown(url)} failed {failures} time(s): {exc.message}",
                        plugin=self.plugin,
                        retry_after=exc.retry_after,
                    ) from exc
                why = f"{method} {shown(url)} failed ({exc.message}); try {failures + 1}"
                yield from self._wait(self._backoff(failures), why)
                continue
            self.requests += 1
            status = response.status
            if is_rate_limited(response):
                wait = limit_wait(response, self._clock(), self.limit_wait_s)
                wait = max(wait, self.min_limit_wait_s)
                yield from self._wait(wait, f"rate limited by {shown(url)} (HTTP {status})")
                continue
            if status >= 500:
                failures += 1
                if method not in _IDEMPOTENT or failures >= self.attempts:
                    raise TransientError(
                        f"{shown(url)} answered HTTP {status} {failures} time(s)",
                        plugin=self.plugin,
                        retry_after=retry_after(response.headers, self._clock()),
                        hint="the server is failing; the run retries it as "
                        "[plugins.NAME] retry allows",
                    )
                asked = retry_after(response.headers, self._clock()) or 0.0
                why = f"{shown(url)} answered HTTP {status}; try {failures + 1}"
                yield from self._wait(max(self._backoff(failures), asked), why)
                continue
            if 200 <= status < 300 or (status == 304 and (etag or last_modified)):
                spent = quota_reset(response.headers, self._clock())
                if spent is not None:
                    self._resume_at = self._clock() + spent
                return response
            detail = quote(response, hdrs)
            raise HttpError(
                f"{method} {shown(url)} answered HTTP {status}: {detail}",
                status=status,
                url=shown(url),
                detail=detail,
                plugin=self.plugin,
                hint="not retried: the request itself was refused",
            )

    def _backoff(self, failures: int) -> float:
        base = self.backoff_s * 2.0 ** (failures - 1)
        return base + base * 0.5 * self._rng()

    def _wait(self, seconds: float, why: str) -> Generator[float, None, None]:
        """Sleep ``seconds`` in slices of at most ``max_sleep_s``, yielding between them."""
        if self.waited_s + seconds > self.max_wait_s:
            raise TransientError(
                f"{why}: asked to wait {seconds:.0f} s, more than the {self.max_wait_s:g} s "
                f"this fetch may wait in total ({self.waited_s:.0f} s waited already)",
                plugin=self.plugin,
                retry_after=seconds,
                hint="the source asked for a longer wait than max_wait_s allows: run again "
                "later, or allow a longer max_wait_s (a token may also raise a rate limit)",
            )
        if self._log is not None:
            self._log.warning(f"{why}; waiting", wait_s=round(seconds, 3))
        left = seconds
        while left > 1e-6:
            step = min(left, self.max_sleep_s)
            self._sleep(step)
            self.waited_s += step
            left -= step
            if left > 1e-6:  # not a float crumb: another slice follows
                yield step
