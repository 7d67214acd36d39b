"""The repository fetcher against hostile servers on 127.0.0.1: a server that trickles a
byte at a time (each read well within the per-read timeout) is cut off as a stall."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from tuf.api.exceptions import SlowRetrievalError

from wiseflow._repo import _client

BIG = 1 << 20


@contextmanager
def _server(trickle: bool) -> Iterator[tuple[str, threading.Event]]:
    gone = threading.Event()  # set when the client hung up on the trickle

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            if not trickle:
                self.wfile.write(b"x" * BIG)
                return
            for _ in range(BIG):  # a byte each 20 ms: every read answered in time
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    gone.set()
                    return
                if gone.wait(0.02):
                    return

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/x", gone
    finally:
        gone.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


def test_a_server_trickling_bytes_is_cut_off_as_a_stall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_client, "_GRACE_S", 0.5)  # 30 s in use; the rule, not the figure
    with _server(trickle=True) as (url, _):
        fetcher = _client._fetcher(None)
        with pytest.raises(SlowRetrievalError, match="stalled"):
            for _chunk in fetcher.fetch(url):
                pass
    # what the operator sees: WF601, the repository named
    err = _client.translate(SlowRetrievalError("x: the download stalled"), "http://r/", "index")
    assert err.code == "WF601" and "http://r/" in err.message


def test_positive_control_a_full_speed_server_is_read_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_client, "_GRACE_S", 0.5)
    with _server(trickle=False) as (url, _):
        got = b"".join(_client._fetcher(None).fetch(url))
    assert len(got) == BIG
