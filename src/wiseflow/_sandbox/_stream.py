"""A stream from a sandboxed worker: its chunks, as they arrive, under a credit window.

The worker sends at most :data:`CREDIT_WINDOW` chunks ahead of the host's consumption; the
host grants one more per chunk received. Each wait for the next chunk has the whole
``timeout_s``; frames that carry no item (logs, capability requests, empty chunks) do not
renew it. A stream closed early is cancelled in the worker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._link import CANCEL_S
from ._peek import TooManyItems
from ._protocol import Call, Chunk, Credit, End, Fail, pack

if TYPE_CHECKING:
    from ._runner import WorkerRunner

__all__ = ["CREDIT_WINDOW", "worker_chunks"]

#: Stream chunks the worker may send ahead of the host's consumption.
CREDIT_WINDOW = 4


def worker_chunks(
    runner: WorkerRunner, method: str, args: list[Any], timeout: float | None
) -> Iterator[list[Any]]:
    """``WorkerRunner.chunks``: the worker's chunks as they arrive (never empty), each list
    handed on as decoded."""
    with runner._lock:
        runner._require_alive()
        rid = runner._new_id()
        assert runner._link is not None
        runner._link.streams[rid] = deque()
        runner._send(
            Call(id=rid, method=method, args=pack(args), stream=True, credit=CREDIT_WINDOW)
        )
    finished = False
    deadline = runner._deadline(timeout)
    try:
        while True:
            with runner._lock:
                try:
                    msg = runner._wait(rid, (Chunk, End, Fail), deadline, method)
                except TooManyItems as exc:  # the worker chunks at most CHUNK_ITEMS
                    runner._violation(str(exc))
                if isinstance(msg, Chunk):
                    runner._send(Credit(id=rid, n=1))
            if isinstance(msg, Chunk):
                items = msg.records if msg.records is not None else msg.items
                if items:
                    yield items
                    # the wait for the next item starts now, with the whole timeout; a
                    # chunk without items (like a log or a capability request) renews none
                    deadline = runner._deadline(timeout)
                continue
            finished = True
            if isinstance(msg, Fail):
                raise runner._plugin_error(msg.error)
            return
    finally:
        with runner._lock:
            link = runner._link
            if link is not None:
                if not finished and runner._alive():
                    runner._limit = CANCEL_S  # the wait's own limit, for its WF401
                    link.cancel(rid)
                link.streams.pop(rid, None)
