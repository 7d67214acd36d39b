"""feed: RSS and Atom from files, and from URLs through ctx.http with ETag handling."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from plugin_helpers import FIXTURES

PIPE = """
[pipeline]
name = "f"
[[sources]]
plugin = "feed"
config = {{ {config} }}
[[processors]]
plugin = "text"
"""


def test_rss_and_atom_files_become_articles(tmp_path: Path, run: Any) -> None:
    """Entries of both formats are stored with ids, times, links and cleaned text."""
    feeds = tmp_path / "feeds"
    shutil.copytree(FIXTURES / "feeds", feeds)
    paths = [str(feeds / "news.rss"), str(feeds / "blog.atom")]
    summary, store = run(PIPE.format(config=f"paths = {paths!r}".replace("'", '"')))
    recs = {r.id: r for r in store.records()}
    assert summary.stored == 4
    rss = recs["https://news.example.org/openssl-cve-2024-0727"]
    assert rss.kind == "article"
    assert rss.time is not None
    assert rss.time.isoformat() == "2024-01-30T10:00:00+00:00"
    assert rss.text == "The openssl package fixes CVE-2024-0727."
    atom = recs["urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"]
    assert atom.annotations["text"]["lang"] == "de"
    assert atom.author == "Bernd"
    again, _ = run(PIPE.format(config=f"paths = {paths!r}".replace("'", '"')))
    assert again.fetched == 0


def test_urls_are_fetched_through_the_host_with_etag(tmp_path: Path, run: Any) -> None:
    """A feed URL is fetched via ctx.http; the second run sends If-None-Match and gets 304."""
    body = (FIXTURES / "feeds" / "news.rss").read_bytes()
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("If-None-Match"))
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/news.rss"
        first, store = run(PIPE.format(config=f'urls = ["{url}"]'))
        second, _ = run(PIPE.format(config=f'urls = ["{url}"]'))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert first.stored == 3
    assert second.fetched == 0
    assert seen == [None, '"v1"']
