"""What a server answered that retrying will not change: :class:`HttpError`, and quoting it.

A quote is bounded, one line, and never shows a header value the request sent (a token
echoed back by a proxy stays masked); a URL is shown without its query.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._context import HttpResponse
from .._errors import PluginError

__all__ = ["HttpError", "quote", "shown"]

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


def shown(url: str) -> str:
    """``url`` without its query (which may carry a key or a token) for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


def quote(response: HttpResponse, sent: Mapping[str, str] | None = None) -> str:
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
