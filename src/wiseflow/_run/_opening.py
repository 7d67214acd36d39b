"""A run's store, opened and closed beside the run's other work.

Opening the store (creating and migrating a new one, marking crashed runs) takes 10-30 ms,
most of it waiting on the disk; starting the stages takes longer, most of it waiting for
the sandbox's workers. :class:`Opening` opens the store on a thread while the stages start,
and the run takes it when they have. At the end, closing it (its last checkpoint: the log
copied into the database and synced) overlaps shutting the workers down: :func:`close_later`
hands the close to a thread that ``Stages.stop`` joins, so that a run still returns (and
``wiseflow run`` still exits) only once its store is closed and synced, as before.

Errors are the same, at the same point: a store that cannot be opened raises its WF502 when
the run takes it, after the stages started (as when it was opened there).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from .._store import Store

__all__ = ["Opening", "close_later"]

log = logging.getLogger("wiseflow.store")


@final
class Opening:
    """``Store.open(path)`` on a thread, started at once; :meth:`take` waits for it."""

    __slots__ = ("_error", "_store", "_thread")

    def __init__(self, path: Path, *, preload_psutil: bool = False) -> None:
        self._store: Store | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._open,
            args=(path, preload_psutil),
            name="wiseflow-store-open",
            daemon=True,
        )
        self._thread.start()

    def _open(self, path: Path, preload_psutil: bool) -> None:
        from .._store import Store

        try:
            self._store = Store.open(path)
        except BaseException as exc:  # handed to the run, which raises it (take)
            self._error = exc
        if preload_psutil:
            try:
                # sandboxed stages: the host samples its workers with psutil from their first
                # call on; loaded here (~10 ms) while the host waits for them to start
                import psutil  # noqa: F401
            except ImportError:  # pragma: no cover - a dependency; the sampler reports it
                pass

    def take(self) -> Store:
        """The open store (waits for it; it is the caller's to close), or the error."""
        # no deadline: the same wait as opening it inline (SQLite's busy timeout bounds it)
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        store, self._store = self._store, None
        assert store is not None
        return store

    def discard(self) -> None:
        """Close the store unless :meth:`take` took it (the run did not get that far)."""
        self._thread.join()
        store, self._store, self._error = self._store, None, None
        if store is not None:
            try:
                store.close()
            except Exception as exc:  # the run reports its own error, not this one
                log.debug("closing a store the run did not take: %s", exc)


def close_later(store: Store, closing: list[threading.Thread]) -> None:
    """Close ``store`` on a thread, appended to ``closing`` (joined by ``Stages.stop``)."""
    # not a daemon: should nothing join it, the interpreter still waits for it at exit
    thread = threading.Thread(target=store.close, name="wiseflow-store-close")
    thread.start()
    closing.append(thread)
