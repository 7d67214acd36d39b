"""Serving the dashboard with uvicorn: in the foreground (``wiseflow dashboard``) or on a
thread of a run (``wiseflow run --dashboard``).

The socket is bound before uvicorn starts, so a port in use is reported at once and port 0
gives a free port whose URL is known before the first request.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
from typing import Any, final

from ._app import create_app
from ._sources import Sources

__all__ = ["DashboardServer", "is_loopback"]


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: addresses only this machine reaches."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@final
class DashboardServer:
    """The dashboard app over ``sources``, bound to ``host:port``, with a new session token.

    Raises:
        OSError: the address cannot be bound (in use, not ours).
    """

    def __init__(
        self,
        sources: Sources,
        *,
        host: str = "127.0.0.1",
        port: int = 8750,
        remote: bool = False,
        interval_s: float = 1.0,
    ) -> None:
        import uvicorn

        self.sources = sources
        self.token = secrets.token_urlsafe(24)
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host.strip("[]"), port))
            self.sock.listen(64)
        except OSError:
            self.sock.close()
            raise
        self.port: int = self.sock.getsockname()[1]
        app = create_app(sources, self.token, remote=remote, interval_s=interval_s)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's URL, with the session token (what the operator opens)."""
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def serve(self) -> None:
        """Serve until Ctrl-C (uvicorn's own signal handling, in the main thread)."""
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.close()

    def start(self) -> DashboardServer:
        """Serve on a thread of this process; :meth:`stop` ends it."""
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name="wiseflow-dashboard",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.close()

    def close(self) -> None:
        self.sock.close()
        self.sources.close()

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
