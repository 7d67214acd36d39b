"""The engine's second stage: a thread that stores batches and feeds analyzers.

While it writes batch *n* and runs the analyzers on it, the consumer already runs the
processors on batch *n + 1* (in sandboxed mode those are other processes, so the two
stages really overlap). One thread and a FIFO queue keep every source's batches, and so
its checkpoints, in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar, final

__all__ = ["Sink"]

T = TypeVar("T")
_STOP = object()


@final
class Sink(Generic[T]):
    """Runs ``work(item)`` for each item put, in order, on one thread.

    ``put`` blocks while ``depth`` items wait (backpressure) and re-raises the worker's
    failure, if any; ``close`` waits for the queue to drain and re-raises likewise.
    """

    def __init__(self, work: Callable[[T], None], *, depth: int = 2, name: str = "sink") -> None:
        self._work = work
        self._q: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"wiseflow-{name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            if self._error is not None:
                continue  # failed: drain without working so put() never blocks forever
            try:
                self._work(item)  # type: ignore[arg-type]
            except BaseException as exc:
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: T) -> None:
        """Queue ``item``; raises the worker's error if it has failed."""
        while True:
            self._raise()
            try:
                self._q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Finish every queued item, stop the thread, raise the worker's error if any."""
        if self._thread.is_alive():
            self._q.put(_STOP)
            self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Stop without raising (cleanup after another failure); queued items still run."""
        if self._thread.is_alive():
            try:
                self._q.put(_STOP, timeout=5)
            except queue.Full:
                return
            self._thread.join(timeout=30)
