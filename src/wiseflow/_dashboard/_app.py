"""The dashboard's web app (Starlette): the page, its JSON API under ``/api/``, and SSE.

Rules every route follows (SPEC §15):

- GET never changes state. Changes (disable, enable, replay) are POST only and need the
  session token in ``X-Wiseflow-Token``; without it, or with another, 403.
- The page gets the token only when opened with it (``/?token=...``, the URL printed at
  start); opened without, it is read-only.
- The ``Host`` header must name a loopback address (a page on another site that rebinds
  its name to 127.0.0.1 gets 400). Bound to another address (``--allow-remote``), every
  request needs the token.
- Responses carry a strict Content-Security-Policy (no inline script, nothing from
  elsewhere), ``nosniff``, no framing, no referrer (the token is in the page URL).
- Everything is bounded: list lengths, request bodies, concurrent event streams, POSTs per
  minute. The page builds its DOM from text nodes only, so plugin-controlled strings stay
  text.
"""

from __future__ import annotations

import hmac
import html
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any, final

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from ._guard import TOKEN_HEADER, Guard, forbidden, json_error
from ._sources import Busy, Sources, Unknown

__all__ = ["MAX_STREAMS", "POSTS_PER_MINUTE", "Api", "create_app"]

MAX_STREAMS = 8
POSTS_PER_MINUTE = 60
MAX_BODY = 1024
#: Reports are wiseflow's own escaped HTML; shown sandboxed all the same (no script at all).
REPORT_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@final
class Api:
    """The routes' handlers over one :class:`Sources`, with the session ``token``."""

    def __init__(self, sources: Sources, token: str, *, interval_s: float = 1.0) -> None:
        self.sources = sources
        self.token = token
        self.interval_s = interval_s
        self.streams = 0
        self._posts: deque[float] = deque()

    def authorised(self, request: Request) -> bool:
        given = request.headers.get(TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _post_allowed(self) -> bool:
        now = time.monotonic()
        while self._posts and now - self._posts[0] > 60:
            self._posts.popleft()
        if len(self._posts) >= POSTS_PER_MINUTE:
            return False
        self._posts.append(now)
        return True

    def _gate(self, request: Request) -> JSONResponse | None:
        if not self.authorised(request):
            return forbidden()
        if not self._post_allowed():
            return json_error(429, "rate_limited", "too many changes in a minute", "wait a minute")
        return None

    # -- the page --------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        """The dashboard page (its token only when opened with it)."""
        page = resources.files(__package__).joinpath("static/index.html").read_text("utf-8")
        given = request.query_params.get("token", "")
        token = self.token if hmac.compare_digest(given.encode(), self.token.encode()) else ""
        page = page.replace("{{TOKEN}}", html.escape(token, quote=True))
        return Response(page, media_type="text/html; charset=utf-8")

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("app.js", "app.css"):
            return json_error(404, "not_found", "no such file")
        path = resources.files(__package__).joinpath(f"static/{name}")
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return Response(path.read_text("utf-8"), media_type=f"{media}; charset=utf-8")

    async def openapi(self, request: Request) -> Response:
        """The API's description (OpenAPI 3)."""
        return JSONResponse(SCHEMAS.get_schema(routes=request.app.routes))

    # -- reading (GET) --------------------------------------------------------------------------

    def state_doc(self) -> dict[str, Any]:
        s = self.sources
        return {
            **s.live(),
            "runs": s.runs(20),
            "dead_letters": s.dead_letters(limit=50),
            "replayable": sorted(s.pipeline_files()),
            "replay": s.replay_status(),
            "time": time.time(),
        }

    async def state(self, request: Request) -> Response:
        """Everything the page shows, at once.
        ---
        get:
          summary: Live hosts, plugins, stages, events, errors; latest runs and dead letters
          responses:
            200: {description: "{hosts, plugins, stages, events, errors, runs, dead_letters}"}
        """
        return JSONResponse(await run_in_threadpool(self.state_doc))

    async def plugins(self, request: Request) -> Response:
        """---
        get:
          summary: Every running instance with state, breaker, calls, records, resources,
            their history and last error
          responses:
            200: {description: "{plugins: [...]}"}
        """
        live = await run_in_threadpool(self.sources.live)
        return JSONResponse({"plugins": live["plugins"]})

    async def plugin(self, request: Request) -> Response:
        """---
        get:
          summary: One running instance
          responses:
            200: {description: the instance}
            404: {description: no running instance of that name}
        """
        try:
            got = await run_in_threadpool(self.sources.plugin, request.path_params["name"])
        except Unknown as exc:
            return json_error(404, "not_found", str(exc))
        return JSONResponse(got)

    async def stages(self, request: Request) -> Response:
        """---
        get:
          summary: The running pipelines' stages (records in/out, records/s, queued, errors)
          responses:
            200: {description: "{stages: [...]}"}
        """
        live = await run_in_threadpool(self.sources.live)
        return JSONResponse({"stages": live["stages"]})

    async def events(self, request: Request) -> Response:
        """---
        get:
          summary: Lifecycle and host events of the running hosts (latest 200)
          responses:
            200: {description: "{events: [...]}"}
        """
        live = await run_in_threadpool(self.sources.live)
        return JSONResponse({"events": live["events"]})

    async def runs(self, request: Request) -> Response:
        """---
        get:
          summary: The latest runs from the store (newest first, at most 50)
          responses:
            200: {description: "{runs: [...]}"}
        """
        return JSONResponse({"runs": await run_in_threadpool(self.sources.runs)})

    async def run(self, request: Request) -> Response:
        """---
        get:
          summary: One run's stored document
          responses:
            200: {description: the run}
            404: {description: no such run}
        """
        try:
            got = await run_in_threadpool(self.sources.run, request.path_params["run_id"])
        except Unknown as exc:
            return json_error(404, "not_found", str(exc))
        return JSONResponse(got, headers={"Cache-Control": "no-store"})

    async def report(self, request: Request) -> Response:
        """---
        get:
          summary: The report a run wrote (HTML shown sandboxed, Markdown and JSON as text)
          responses:
            200: {description: the report file}
            404: {description: no report}
        """
        try:
            path, kind = await run_in_threadpool(self.sources.report, request.path_params["run_id"])
        except Unknown as exc:
            return json_error(404, "not_found", str(exc))
        return FileResponse(path, media_type=kind, headers={"Content-Security-Policy": REPORT_CSP})

    async def dead_letters(self, request: Request) -> Response:
        """---
        get:
          summary: Dead letters (of ?run=N), newest first, at most 200, without record bodies
          responses:
            200: {description: "{dead_letters: [...]}"}
        """
        raw = request.query_params.get("run")
        if raw is not None and not raw.isdigit():
            return json_error(400, "bad_request", "run must be a run number")
        run_id = int(raw) if raw is not None else None
        got = await run_in_threadpool(self.sources.dead_letters, run_id)
        return JSONResponse({"dead_letters": got})

    async def stream(self, request: Request) -> Response:
        """---
        get:
          summary: "Server-sent events: `event: state` with the /api/state document when it
            changes (at most once a second); ?limit=N ends after N events"
          responses:
            200: {description: text/event-stream}
            503: {description: too many open streams}
        """
        if self.streams >= MAX_STREAMS:
            return json_error(503, "busy", "too many open event streams", "close other tabs")
        raw = request.query_params.get("limit", "0")
        limit = int(raw) if raw.isdigit() else 0
        return StreamingResponse(
            self._events(limit),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _events(self, limit: int) -> AsyncIterator[str]:
        # counted once it runs: a stream never started (client gone) never counts
        self.streams += 1
        try:
            yield "retry: 2000\n\n"
            if self.streams > MAX_STREAMS:
                yield ": too many open event streams\n\n"
                return
            sent, last = 0, ""
            while True:
                doc = await run_in_threadpool(self.state_doc)
                doc.pop("time", None)
                text = json.dumps(doc, default=str)  # ASCII, one line: cannot break the frame
                if text != last:
                    last = text
                    sent += 1
                    yield f"event: state\ndata: {text}\n\n"
                    if limit and sent >= limit:
                        return
                else:
                    yield ": idle\n\n"
                await anyio.sleep(self.interval_s)
        finally:
            self.streams -= 1

    # -- changes (POST, token) ----------------------------------------------------------------

    async def disable(self, request: Request) -> Response:
        """---
        post:
          summary: Disable a running instance (its run stops calling it; see the docs)
          parameters: [{name: X-Wiseflow-Token, in: header, required: true}]
          responses:
            202: {description: request handed to the run}
            403: {description: no or wrong token}
            404: {description: no running instance of that name}
        """
        return await self._request(request, "disable")

    async def enable(self, request: Request) -> Response:
        """---
        post:
          summary: Enable an instance disabled during its run
          parameters: [{name: X-Wiseflow-Token, in: header, required: true}]
          responses:
            202: {description: request handed to the run}
            403: {description: no or wrong token}
            404: {description: no running instance of that name}
        """
        return await self._request(request, "enable")

    async def _request(self, request: Request, action: str) -> Response:
        denied = self._gate(request)
        if denied is not None:
            return denied
        name = request.path_params["name"]
        try:
            got = await run_in_threadpool(self.sources.request, action, name)
        except Unknown as exc:
            return json_error(404, "not_found", str(exc))
        return JSONResponse(got, status_code=202)

    async def replay(self, request: Request) -> Response:
        """---
        post:
          summary: "Replay the dead letters of a run: body {\\"run\\": N}"
          parameters: [{name: X-Wiseflow-Token, in: header, required: true}]
          responses:
            202: {description: the replay started (a run of its own)}
            403: {description: no or wrong token}
            404: {description: no such run, or its pipeline file is not known}
            409: {description: a replay is already running}
        """
        denied = self._gate(request)
        if denied is not None:
            return denied
        body = b""
        async for chunk in request.stream():  # at most MAX_BODY + 1 bytes are ever read
            body += chunk[: MAX_BODY + 1 - len(body)]
            if len(body) > MAX_BODY:
                return json_error(400, "bad_request", f"the body is larger than {MAX_BODY} bytes")
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        run_id = doc.get("run") if isinstance(doc, dict) else None
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            return json_error(400, "bad_request", 'the body must be {"run": N}')
        try:
            got = await run_in_threadpool(self.sources.replay, run_id)
        except Unknown as exc:
            return json_error(404, "not_found", str(exc))
        except Busy as exc:
            return json_error(409, "conflict", str(exc), "wait for it to finish")
        return JSONResponse(got, status_code=202)


SCHEMAS = SchemaGenerator(
    {"openapi": "3.0.0", "info": {"title": "wiseflow dashboard", "version": "1"}}
)


def create_app(
    sources: Sources, token: str, *, remote: bool = False, interval_s: float = 1.0
) -> Guard:
    """The dashboard app over ``sources``, changes guarded by ``token``."""
    api = Api(sources, token, interval_s=interval_s)
    routes = [
        Route("/", api.index, methods=["GET"], include_in_schema=False),
        Route("/static/{name}", api.static, methods=["GET"], include_in_schema=False),
        Route("/openapi.json", api.openapi, methods=["GET"], include_in_schema=False),
        Route("/api/state", api.state, methods=["GET"]),
        Route("/api/stream", api.stream, methods=["GET"]),
        Route("/api/plugins", api.plugins, methods=["GET"]),
        Route("/api/plugins/{name}", api.plugin, methods=["GET"]),
        Route("/api/plugins/{name}/disable", api.disable, methods=["POST"]),
        Route("/api/plugins/{name}/enable", api.enable, methods=["POST"]),
        Route("/api/stages", api.stages, methods=["GET"]),
        Route("/api/events", api.events, methods=["GET"]),
        Route("/api/runs", api.runs, methods=["GET"]),
        Route("/api/runs/{run_id:int}", api.run, methods=["GET"]),
        Route("/api/runs/{run_id:int}/report", api.report, methods=["GET"]),
        Route("/api/dead-letters", api.dead_letters, methods=["GET"]),
        Route("/api/dead-letters/replay", api.replay, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.api = api
    return Guard(app, api, remote=remote)
