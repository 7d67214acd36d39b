"""Threads a trusted plugin starts, remembered so that releasing it can check they stopped.

In-process code cannot be stopped from outside, so the host can only join what a plugin
left behind and warn about what does not end. Attribution is by observation: threads that
appear while a call into the plugin runs (``threading.active_count`` is compared first, so
the common case costs one counter read). A thread another part of the host starts at that
moment would be attributed too; the host's own threads (``wiseflow-*``) are excluded.
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
        if threading.active_count() <= mark:
            return
        me = threading.current_thread()
        for t in threading.enumerate():
            if t is me or t is threading.main_thread() or t.name.startswith("wiseflow-"):
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
