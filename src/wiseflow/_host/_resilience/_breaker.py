"""A circuit breaker per plugin instance.

::

    CLOSED --N consecutive failures, or failure rate >= R over the last W calls--> OPEN
    OPEN --reset_s elapsed, next call--> HALF_OPEN (exactly one trial call goes through)
    HALF_OPEN --trial succeeds--> CLOSED      HALF_OPEN --trial fails--> OPEN (timer restarts)

While OPEN (and while a trial is in flight) calls fail fast: the handle raises
``CircuitOpen`` (WF404) or routes them to the plugin's fallback. Every change of state is
reported to ``on_change(old, new, reason)``; the handle publishes it as a ``PluginEvent``
(``breaker-open``, ``breaker-half-open``, ``breaker-closed``).
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, final

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


OnChange = Callable[[BreakerState, BreakerState, str], None]


@final
class CircuitBreaker:
    """Counts failures of one plugin instance and decides whether calls may go through.

    Args:
        failures: consecutive failures that open the breaker.
        reset_s: how long it stays open before one trial call is let through.
        window: also open when, over the last ``window`` calls (0: off), at least
            ``rate`` of them failed (and at least ``min_calls`` were made).
        rate: the failure rate for ``window``.
        min_calls: calls needed in the window before the rate is judged.
        clock: a monotonic clock (tests pass their own).
        on_change: called outside the lock with (old, new, reason) on every change.
    """

    __slots__ = (
        "_clock",
        "_lock",
        "_opened_at",
        "_recent",
        "_trial",
        "clean",
        "consecutive",
        "failures",
        "min_calls",
        "on_change",
        "opens",
        "rate",
        "reason",
        "reset_s",
        "state_",
        "window",
    )

    def __init__(
        self,
        failures: int = 5,
        reset_s: float = 60.0,
        *,
        window: int = 0,
        rate: float = 0.5,
        min_calls: int = 10,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
    ) -> None:
        self.failures = max(1, int(failures))
        self.reset_s = max(0.0, float(reset_s))
        self.window = max(0, int(window))
        self.rate = rate
        self.min_calls = min_calls
        self._clock = clock
        self.on_change = on_change
        self._lock = threading.Lock()
        self._recent: deque[bool] = deque(maxlen=self.window or 1)
        self._opened_at = 0.0
        self._trial = False
        self.state_ = BreakerState.CLOSED
        self.consecutive = 0
        self.opens = 0
        self.reason = ""
        # closed, no failure since the last success, no window to feed: a success changes
        # nothing, so the handle's usual path reads this one flag and skips success()
        self.clean = not self.window

    @classmethod
    def from_config(cls, breaker: Any, on_change: OnChange | None = None) -> CircuitBreaker:
        """From an ``_operator.Breaker`` (None: the defaults of SPEC §4)."""
        if breaker is None:
            return cls(on_change=on_change)
        return cls(breaker.failures, breaker.reset_s, on_change=on_change)

    # -- queries ---------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker past its reset time reads as half-open)."""
        with self._lock:
            if self.state_ is BreakerState.OPEN and self._elapsed() >= self.reset_s:
                return BreakerState.HALF_OPEN
            return self.state_

    def retry_in(self) -> float:
        """Seconds until the next trial call is let through (0 when not open)."""
        with self._lock:
            if self.state_ is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self.reset_s - self._elapsed())

    def _elapsed(self) -> float:
        return self._clock() - self._opened_at

    # -- the protocol the handle follows: allow(), then success() / failure() / release() ---

    def allow(self) -> bool:
        """May a call go through now? In half-open, only one trial at a time."""
        change = None
        with self._lock:
            if self.state_ is BreakerState.CLOSED:
                return True
            if self.state_ is BreakerState.OPEN:
                if self._elapsed() < self.reset_s:
                    return False
                change = self._move(BreakerState.HALF_OPEN, f"{self.reset_s:g}s passed; trial")
            if self._trial:
                allowed = False
            else:
                self._trial = allowed = True
        self._emit(change)
        return allowed

    def success(self) -> None:
        if self.clean:
            return  # the common case, without the lock: nothing to change
        change = None
        with self._lock:
            self.consecutive = 0
            self._recent.append(True)
            self._trial = False
            if self.state_ is not BreakerState.CLOSED:
                change = self._move(BreakerState.CLOSED, "trial call succeeded")
            self._settle()
        self._emit(change)

    def failure(self, reason: str = "") -> None:
        change = None
        with self._lock:
            self.consecutive += 1
            self.clean = False
            self._recent.append(False)
            if self.state_ is BreakerState.HALF_OPEN:
                self._trial = False
                change = self._open(f"trial call failed: {reason}")
            elif self.state_ is BreakerState.CLOSED:
                if self.consecutive >= self.failures:
                    change = self._open(f"{self.consecutive} consecutive failures; last: {reason}")
                elif self._rate_exceeded():
                    fails = self._recent.count(False)
                    change = self._open(
                        f"{fails} of the last {len(self._recent)} calls failed; last: {reason}"
                    )
        self._emit(change)

    def release(self) -> None:
        """A call ended without a verdict on the plugin's health (e.g. a skipped record)."""
        with self._lock:
            self._trial = False

    def trip(self, reason: str) -> None:
        """Open now (a fatal failure: timeout, crash, quota, protocol violation)."""
        change = None
        with self._lock:
            self._trial = False
            if self.state_ is not BreakerState.OPEN:
                change = self._open(reason)
            else:
                self._opened_at = self._clock()
        self._emit(change)

    def reset(self) -> None:
        """Closed, counters cleared (the operator re-enabled the plugin)."""
        change = None
        with self._lock:
            self.consecutive = 0
            self._recent.clear()
            self._trial = False
            if self.state_ is not BreakerState.CLOSED:
                change = self._move(BreakerState.CLOSED, "reset by the host")
            self._settle()
        self._emit(change)

    # -- internals -------------------------------------------------------------------------

    def _rate_exceeded(self) -> bool:
        n = len(self._recent)
        if not self.window or n < max(self.min_calls, 1):
            return False
        return self._recent.count(False) / n >= self.rate

    def _open(self, reason: str) -> tuple[BreakerState, BreakerState, str]:
        self._opened_at = self._clock()
        self.opens += 1
        return self._move(BreakerState.OPEN, reason)

    def _move(self, new: BreakerState, reason: str) -> tuple[BreakerState, BreakerState, str]:
        old, self.state_ = self.state_, new
        self.reason = reason
        self._settle()
        return (old, new, reason)

    def _settle(self) -> None:
        """Recompute :attr:`clean` (under the lock, after any change)."""
        self.clean = self.state_ is BreakerState.CLOSED and not self.consecutive and not self.window

    def _emit(self, change: tuple[BreakerState, BreakerState, str] | None) -> None:
        if change is not None and self.on_change is not None:
            self.on_change(*change)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "consecutive_failures": self.consecutive,
            "opens": self.opens,
            "retry_in_s": round(self.retry_in(), 3),
            "reason": self.reason,
        }
