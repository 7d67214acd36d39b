"""The worker's side of a plugin's capabilities and logs: both go to the host.

:class:`IpcBackend` is the ``CapabilityBackend`` of a sandboxed plugin's context: every
request is sent to the host and waits for its answer. :class:`LogHandler` sends what the
plugin logs. Both talk through the worker (see ``_worker``), which owns the channel.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from .._contract._context import HttpResponse
from .._contract._errors import error_from_dict
from ._protocol import CapReply, CapRequest, Log, Message, pack

__all__ = ["IpcBackend", "LogHandler", "WorkerLink"]


class WorkerLink(Protocol):
    """What these need of the worker: sending, and waiting for a capability reply."""

    ids_lock: threading.Lock

    def send(self, msg: Message) -> None: ...

    def await_reply(self, rid: int) -> CapReply: ...


class IpcBackend:
    """The plugin's CapabilityBackend: every request goes to the host and waits for it."""

    def __init__(self, worker: WorkerLink) -> None:
        self._worker = worker
        self._next = 0

    def _request(self, op: str, args: list[Any]) -> Any:
        w = self._worker
        with w.ids_lock:
            self._next += 1
            rid = self._next
        w.send(CapRequest(id=rid, op=op, args=pack(args)))
        reply = w.await_reply(rid)
        if reply.error is not None:
            raise error_from_dict(reply.error)
        return reply.value

    def http_request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float | None,
    ) -> HttpResponse:
        v = self._request("http", [method, url, headers, body, timeout])
        return HttpResponse(int(v["status"]), dict(v["headers"]), bytes(v["content"]), v["url"])

    def secret(self, name: str) -> str | None:
        value = self._request("secret", [name])
        return None if value is None else str(value)

    def check_read(self, path: str) -> str:
        return str(self._request("check_read", [path]))

    def call_plugin(self, name: str, method: str, args: list[Any]) -> Any:
        return self._request("call_plugin", [name, method, args])


class LogHandler(logging.Handler):
    """Sends each line the plugin logs to the host (which rate-limits and keeps it)."""

    def __init__(self, worker: WorkerLink) -> None:
        super().__init__()
        self._worker = worker

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._worker.send(Log(level=record.levelno, message=self.format(record)[:4000]))
        except Exception:
            pass
