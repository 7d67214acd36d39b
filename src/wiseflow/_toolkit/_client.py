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
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, final
from urllib.parse import urlsplit

from .._context import HttpClient, HttpResponse, PluginLogger
from .._errors import PluginError, TransientError
from ._limits import is_rate_limited, limit_wait, quota_reset, retry_after
from ._pagination import LinkPagination, Pagination

__all__ = ["ApiClient", "HttpError", "Page", "Pages"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Characters of a response body quoted in an error message (never any header).
_QUOTE = 200


class HttpError(PluginError):
    """A server answered with a status that retrying will not change (4xx but a limit).

    Attributes:
        status: the HTTP status.
        url: the URL asked for (without its query).
        detail: what the server said: its JSON error message or the start of its body, one
            line of at most 200 characters, with the request's header values masked.

    Example:
        >>> try:
        ...     api.get(f"{base}/repos/{repo}")
        ... except HttpError as exc:
        ...     if exc.status == 404:
        ...         raise PluginError(f"{repo} not found", hint="check `repo`") from exc
        ...     raise
    """

    # Class defaults too: an error rebuilt from its dict (pickle, the sandbox wire) has them.
    status: int = 0
    url: str = ""
    detail: str = ""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str,
        detail: str = "",
        plugin: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, plugin=plugin, hint=hint)
        self.status = status
        self.url = url
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        kw = {"status": self.status, "url": self.url, "detail": self.detail}
        kw |= {"plugin": self.plugin, "hint": self.hint}
        return (_rebuild_http_error, (self.message, kw))


def _rebuild_http_error(message: str, kw: dict[str, Any]) -> HttpError:
    return HttpError(message, **kw)


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


def _shown(url: str) -> str:
    """``url`` without its query (which may carry a key or a token) for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


def _quote(response: HttpResponse, sent: Mapping[str, str] | None = None) -> str:
    """What the server said, for an error message: bounded, one line, no request header.

    A JSON error body gives its ``message`` (GitHub), ``error_description``, ``error`` or
    ``detail`` field; anything else its start. A proxy or test server may echo the request,
    so every value of the headers sent (``sent``: an ``Authorization`` token, say) is
    masked as ``***`` before the cut.
    """
    raw = response.content[: _QUOTE * 8]
    text = raw.decode("utf-8", "replace")
    try:
        body = response.json() if len(response.content) <= 1 << 16 else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        said = next(
            (body[k] for k in ("message", "error_description", "error", "detail")
             if isinstance(body.get(k), str) and body[k]),
            None,
        )  # fmt: skip
        if said is not None:
            text = said
    for value in (sent or {}).values():
        if len(value) >= 6:
            text = text.replace(value, "***")
            if value.lower().startswith(("bearer ", "token ", "basic ")):
                text = text.replace(value.split(" ", 1)[1], "***")
    text = " ".join(text.split())  # one line, whatever the server sent
    if not text:
        return "(no error message)"
    return text[:_QUOTE] + ("…" if len(text) > _QUOTE else "")


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
                    yield from self._wait(early, f"rate limit of {_shown(url)} used up")
            try:
                response = self._http.request(method, url, headers=hdrs, content=content)
            except TransientError as exc:  # the broker: connection refused, reset, timeout
                self.requests += 1
                failures += 1
                if method not in _IDEMPOTENT or failures >= self.attempts:
                    raise TransientError(
                        f"{method} {_shown(url)} failed {failures} time(s): {exc.message}",
                        plugin=self.plugin,
                        retry_after=exc.retry_after,
                    ) from exc
                why = f"{method} {_shown(url)} failed ({exc.message}); try {failures + 1}"
                yield from self._wait(self._backoff(failures), why)
                continue
            self.requests += 1
            status = response.status
            if is_rate_limited(response):
                wait = limit_wait(response, self._clock(), self.limit_wait_s)
                wait = max(wait, self.min_limit_wait_s)
                yield from self._wait(wait, f"rate limited by {_shown(url)} (HTTP {status})")
                continue
            if status >= 500:
                failures += 1
                if method not in _IDEMPOTENT or failures >= self.attempts:
                    raise TransientError(
                        f"{_shown(url)} answered HTTP {status} {failures} time(s)",
                        plugin=self.plugin,
                        retry_after=retry_after(response.headers, self._clock()),
                        hint="the server is failing; the run retries it as "
                        "[plugins.NAME] retry allows",
                    )
                asked = retry_after(response.headers, self._clock()) or 0.0
                why = f"{_shown(url)} answered HTTP {status}; try {failures + 1}"
                yield from self._wait(max(self._backoff(failures), asked), why)
                continue
            if 200 <= status < 300 or (status == 304 and (etag or last_modified)):
                spent = quota_reset(response.headers, self._clock())
                if spent is not None:
                    self._resume_at = self._clock() + spent
                return response
            detail = _quote(response, hdrs)
            raise HttpError(
                f"{method} {_shown(url)} answered HTTP {status}: {detail}",
                status=status,
                url=_shown(url),
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
                f"page {self.count} of {_shown(url)} is not JSON: "
                f"{_quote(response, {**self._api.headers, **(self._headers or {})})}",
                plugin=self._api.plugin,
            ) from None
        items = self._pagination.items(body)
        nxt = self._pagination.next_url(url, response, body, items)
        if nxt is not None and nxt in self._seen:
            # This page's items are good; the loop ends the listing when the next is asked.
            self._loop = PluginError(
                f"pagination loops: page {self.count} of {_shown(url)} points back to a "
                "page already fetched",
                plugin=self._api.plugin,
                hint="the server repeats a cursor or a next link; the listing stopped there",
            )
            nxt = None
        self._next = nxt
        return Page(items=items, number=self.count, url=url, response=response, body=body)
