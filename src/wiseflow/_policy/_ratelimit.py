"""What the host logs on a plugin's behalf, at a bounded rate: :class:`LogLimiter`.

One limiter per plugin instance, shared by everything the host logs because of that
plugin: its worker's stdout/stderr and ``ctx.log`` lines (``_sandbox._output``) and the
broker's decisions (every denied capability request). A token bucket allows ``rate`` lines
per second with a ``burst``; lines beyond it are dropped and counted, the count is logged
once the flood subsides, and :attr:`LogLimiter.dropped_total` is reported per plugin in the
run document. Each line is redacted (granted secrets), cut at :data:`MAX_LINE` characters,
and logged as one record: a newline in it never starts a second one on a terminal (see
:class:`~wiseflow._cli._text.SafeFormatter`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import final

from ._redact import Redactor

__all__ = ["MAX_LINE", "LogLimiter"]

#: Characters kept of one line logged on a plugin's behalf.
MAX_LINE = 2000


@final
class LogLimiter:
    """A token bucket in front of a logger; thread-safe.

    Args:
        rate: lines per second allowed on average.
        burst: lines allowed at once before the rate applies.
        redactor: masks granted secrets before a line is cut or logged.
    """

    __slots__ = (
        "_lock",
        "_stamp",
        "_tokens",
        "burst",
        "dropped",
        "dropped_total",
        "rate",
        "redactor",
    )

    def __init__(
        self, *, rate: float = 200.0, burst: float = 1000.0, redactor: Redactor | None = None
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.redactor = redactor
        self.dropped = 0  # since the last "suppressed" report
        self.dropped_total = 0
        self._tokens = burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """Take one token; False (and counted) when the bucket is empty."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1:
                self.dropped += 1
                self.dropped_total += 1
                return False
            self._tokens -= 1
            return True

    def emit(self, logger: logging.Logger, level: int, text: str) -> bool:
        """Log ``text`` (redacted, cut) at ``level`` unless over the rate; True if logged."""
        if not self.allow():
            return False
        self.report(logger)
        if self.redactor:
            text = self.redactor.text(text)
        if len(text) > MAX_LINE:
            text = f"{text[:MAX_LINE]}… [{len(text) - MAX_LINE} more characters]"
        logger.log(level, "%s", text)
        return True

    def report(self, logger: logging.Logger) -> None:
        """Log how many lines were dropped since the last report, if any."""
        with self._lock:
            n, self.dropped = self.dropped, 0
        if n:
            logger.warning("%d log line(s) suppressed (rate limit)", n)
