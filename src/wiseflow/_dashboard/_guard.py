"""The dashboard's guard (ASGI middleware): the Host check, no request a page of another
site made (but following a link), the token for every request when bound for remote
access, and the headers every response carries (see ``_app``)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from ._app import Api

__all__ = ["CSP", "TOKEN_HEADER", "Guard", "forbidden", "json_error"]

TOKEN_HEADER = "X-Wiseflow-Token"  # noqa: S105 - a header name, not a secret
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def json_error(status: int, code: str, message: str, hint: str = "") -> JSONResponse:
    doc = {"error": {"code": code, "message": message, "plugin": None, "hint": hint}}
    return JSONResponse(doc, status_code=status)


def forbidden() -> JSONResponse:
    return json_error(
        403,
        "WF301",
        f"this change needs the session token in the {TOKEN_HEADER} header",
        "open the dashboard with the URL printed at start (it carries ?token=...)",
    )


@final
class Guard:
    """ASGI middleware: the Host check, the token for everything when remote, headers."""

    def __init__(self, app: ASGIApp, api: Api, *, remote: bool) -> None:
        self.app = app
        self.api = api
        self.remote = remote

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not self.remote and _hostname(request.headers.get("host", "")) not in LOOPBACK_NAMES:
            await json_error(400, "bad_request", "unexpected Host header")(scope, receive, send)
            return
        if _from_another_site(request):
            await json_error(
                403,
                "WF301",
                "a request a page of another site made is refused",
                "open the dashboard at its own address (the URL printed at start)",
            )(scope, receive, send)
            return
        if self.remote:
            given = request.query_params.get("token") or request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.api.token.encode()):
                await forbidden()(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for k, v in _HEADERS:
                    if k not in names:
                        headers.append((k, v))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


def _hostname(header: str) -> str:
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _from_another_site(request: Request) -> bool:
    """A browser's request that a page of another site made: any but following a link.

    Such a page cannot read the answers, but it can make them: it held every event stream
    (8) open, so the operator's own page got "too many open event streams", and made the
    dashboard build reports and lists for no one. Browsers say where a request comes from
    (``Sec-Fetch-Site``; ``same-site`` is another port of this machine too); where one does
    not, an ``Origin`` that is not this host. Clients that are no browser send neither.
    """
    headers = request.headers
    site = headers.get("sec-fetch-site")
    if site is not None:
        if site in ("same-origin", "none"):
            return False
        return not (request.method == "GET" and headers.get("sec-fetch-mode") == "navigate")
    origin = headers.get("origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()
