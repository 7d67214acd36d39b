"""Threads a trusted plugin starts, remembered so that releasing it can check they stopped.

In-process code cannot be stopped from outside, so the host can only join what a plugin
left behind and warn about what does not end. Attribution is by observation: threads that
appear while a call into the plugin runs (``threading.active_count`` is compared first, so
the common case costs one counter read). Only threads *started* during the call are
candidates: ``threading.enumerate`` lists threads in the order they started, so when the
count grew by ``n`` the last ``n`` of them are new. Threads that were already running (an
embedding program's, a library's, a test server's) are never blamed, whatever their owner.
A thread another part of the host starts at that very moment would be attributed too; the
host's own threads (``wiseflow-*``) and foreign threads Python only sees as dummies are
excluded. A plugin thread that ended during the same call makes the count grow less, so
the oldest new thread may go unwatched: a warning missed, never someone else's thread.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import final

from ..._contract._errors import WiseflowWarning

__all__ = ["THREAD_JOIN_S", "ThreadLedger"]

#: How long :meth:`ThreadLedger.reap` waits for a plugin's threads before warning.
THREAD_JOIN_S = 0.5


@final
class ThreadLedger:
    """The threads one trusted plugin instance started."""

    __slots__ = ("owner", "threads")

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.threads: list[threading.Thread] = []

    def mark(self) -> int:
        return threading.active_count()

    def adopt_since(self, mark: int) -> None:
        """Remember threads started since ``mark`` (a :meth:`mark` taken before the call)."""
        new = threading.active_count() - mark
        if new <= 0:
            return
        me, main = threading.current_thread(), threading.main_thread()
        for t in threading.enumerate()[-new:]:  # in start order: the newest last
            if t is me or t is main or t.name.startswith("wiseflow-"):
                continue
            if isinstance(t, threading._DummyThread):  # not started by Python: not joinable
                continue
            if getattr(t, "_wiseflow_owner", None) is None:
                t._wiseflow_owner = self.owner  # type: ignore[attr-defined]
                self.threads.append(t)

    def reap(self, join_s: float = THREAD_JOIN_S) -> list[str]:
        """Join the plugin's threads (``join_s`` in all); warn about, and return, the rest."""
        threads, self.threads = self.threads, []
        deadline = time.monotonic() + join_s
        for t in threads:
            if t.is_alive():
                t.join(max(0.0, deadline - time.monotonic()))
        still = [t.name for t in threads if t.is_alive()]
        if still:
            warnings.warn(
                WiseflowWarning(
                    f"plugin '{self.owner}' left {len(still)} thread(s) running after shutdown "
                    f"({', '.join(still)}); threads cannot be stopped from outside: make "
                    "shutdown() stop them, or run the plugin sandboxed"
                ),
                stacklevel=4,
            )
        return still
