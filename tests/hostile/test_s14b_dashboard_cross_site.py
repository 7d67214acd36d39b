"""A web page of another site aims the operator's browser at the dashboard.

The dashboard listens on 127.0.0.1 and checks the Host header (DNS rebinding) and, for
changes, the session token (CSRF). But a page of any site may still make the operator's
browser send GET requests to it: it cannot read the answers, yet the dashboard serves
them. Event streams stay open while the browser reads them, and the dashboard serves at
most 8 at once: a hostile page (here ``http://evil.test``, in a real headless Chromium)
opening a dozen ``EventSource`` streams, to ``127.0.0.1`` and to ``localhost`` (6
connections per host in Chromium), held every slot (the answers are not the page's to
read, but Chromium keeps an event stream open; ``fetch`` no-cors, ``img``, ``script`` and
``video`` loads of it were all cut off, tried), and the operator's
own page got "too many open event streams" (503) for as long as the hostile tab was open.

Now the dashboard's guard refuses a request another site's page made, by the
``Sec-Fetch-Site`` header browsers send (or a foreign ``Origin``), but following a link
(a top-level GET navigation): 403 WF301, and the operator's stream is served.

Positive control: the same page against the guard with that check off takes every slot.
"""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboard"))

from dashboard_kit import headless_chromium, wait_for, write_project  # noqa: E402

pytest.importorskip("starlette")

from wiseflow._dashboard import DashboardServer, Sources, _guard  # noqa: E402
from wiseflow._dashboard._app import MAX_STREAMS  # noqa: E402

PER_HOST = 6  # Chromium's connections per host (HTTP/1.1)

EVIL = """<!doctype html><title>cute cats</title><script>
window.streams = [];
const target = new URL(location.href).searchParams.get("port");
for (const host of ["127.0.0.1", "localhost"]) {
  for (let i = 0; i < PER_HOST; i++) {
    window.streams.push(new EventSource(`http://${host}:${target}/api/stream`));
  }
}
</script>""".replace("PER_HOST", str(PER_HOST))


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium where ``evil.test`` is another site served from this machine."""
    with headless_chromium("--host-resolver-rules=MAP evil.test 127.0.0.1") as driver:
        yield driver


@pytest.fixture
def evil_site(tmp_path: Path) -> Iterator[int]:
    """The hostile page, served on its own port (the port of ``http://evil.test:PORT``)."""
    site = tmp_path / "evil"
    site.mkdir()
    (site / "index.html").write_text(EVIL)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(site), **kw)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[DashboardServer]:
    project = write_project(tmp_path)
    sources = Sources(
        project / ".wiseflow",
        pipelines={"live": str(project / "p.toml")},
        config=str(project / "wiseflow.toml"),
    )
    server = DashboardServer(sources, port=0).start()
    try:
        yield server
    finally:
        server.stop()


def _visit(browser: Any, evil_site: int, dashboard: DashboardServer) -> None:
    browser.get(f"http://evil.test:{evil_site}/?port={dashboard.port}")
    assert browser.execute_script("return window.streams.length") == 2 * PER_HOST


def _open_streams(dashboard: DashboardServer) -> int:
    streams: int = dashboard.server.config.app.api.streams  # the guard wraps the app
    return streams


def _operator_stream(dashboard: DashboardServer) -> int:
    with httpx.Client(base_url=f"http://127.0.0.1:{dashboard.port}", timeout=30) as client:
        with client.stream("GET", "/api/stream") as resp:
            if resp.status_code == 200:
                assert next(resp.iter_lines()) == "retry: 2000"
            return resp.status_code


def test_another_sites_page_cannot_take_the_dashboards_streams(
    dashboard: DashboardServer, evil_site: int, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdicts: list[bool] = []
    real = _guard._from_another_site

    def watched(request: Any) -> bool:
        verdicts.append(real(request))
        return verdicts[-1]

    monkeypatch.setattr(_guard, "_from_another_site", watched)
    _visit(browser, evil_site, dashboard)
    wait_for(lambda: verdicts.count(True) >= 2 * PER_HOST, "the page's requests refused")
    assert _open_streams(dashboard) == 0 and _operator_stream(dashboard) == 200
    # what the page was answered: 403 WF301 (the same request, as the browser sent it)
    headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Origin": "http://x"}
    resp = httpx.get(f"http://127.0.0.1:{dashboard.port}/api/stream", headers=headers)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "WF301"
    # following a link from another site still opens the page
    nav = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert httpx.get(f"http://127.0.0.1:{dashboard.port}/", headers=nav).status_code == 200
    # the operator's own page works in the same browser
    browser.get(dashboard.url)
    wait_for(lambda: browser.execute_script("return document.body.dataset.updated"), "the page")


def test_control_without_the_check_the_page_takes_every_stream(
    dashboard: DashboardServer, evil_site: int, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_guard, "_from_another_site", lambda request: False)
    _visit(browser, evil_site, dashboard)
    wait_for(lambda: _open_streams(dashboard) >= MAX_STREAMS, "the page's streams")
    assert _operator_stream(dashboard) == 503
