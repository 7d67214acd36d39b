"""The web dashboard (``wiseflow dashboard``, ``wiseflow run --dashboard``; SPEC §15).

- ``_sources``: what it shows: live runs' snapshots, the store read-only; requests, replay.
- ``_app``: the Starlette app: the page, the JSON API under ``/api/``, server-sent events,
  the session token on changes.
- ``_guard``: the middleware: the Host check, the token on everything when remote, headers.
- ``_serve``: uvicorn, in the foreground or on a thread of a run.
- ``static/``: the page (HTML, CSS, JS; the DOM is built from text nodes only).

Needs the ``dashboard`` extra (starlette, uvicorn).
"""

from ._app import create_app
from ._serve import DashboardServer, is_loopback
from ._sources import Sources

__all__ = ["DashboardServer", "Sources", "create_app", "is_loopback"]
