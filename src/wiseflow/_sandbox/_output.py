"""A worker's stdout/stderr, turned into the plugin's log lines at a bounded rate.

Plugin output never shares the protocol channel. Lines are cut at :data:`MAX_LINE`
characters; beyond ``rate`` lines per second (with a burst allowance) lines are dropped
and counted, and the count is logged once the flood subsides. The last lines are kept for
the message of a crash.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque

__all__ = ["MAX_LINE", "OutputPump"]

MAX_LINE = 2000


class OutputPump:
    """Reads one pipe without blocking and logs its lines on ``logger``."""

    __slots__ = (
        "_partial",
        "_stamp",
        "_tokens",
        "burst",
        "dropped",
        "fd",
        "logger",
        "rate",
        "tail",
    )

    def __init__(
        self, fd: int, logger: logging.Logger, *, rate: float = 200.0, burst: float = 1000.0
    ) -> None:
        self.fd = fd
        self.logger = logger
        self.rate = rate
        self.burst = burst
        self.dropped = 0
        self.tail: deque[str] = deque(maxlen=20)
        self._partial = b""
        self._tokens = burst
        self._stamp = time.monotonic()

    def drain(self) -> bool:
        """Read what is available now; False once the pipe is closed."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            self.flush()
            return False
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE:
            lines.append(self._partial)
            self._partial = b""
        for raw in lines:
            self._line(raw)
        return True

    def flush(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = b""
        self._report_dropped()

    def _line(self, raw: bytes) -> None:
        text = raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
        self.tail.append(text)
        self.emit(logging.INFO, text)

    def emit(self, level: int, text: str) -> None:
        """Log ``text`` at ``level`` (clamped to DEBUG..ERROR) unless over the rate."""
        level = min(max(level, logging.DEBUG), logging.ERROR)
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens < 1:
            self.dropped += 1
            return
        self._tokens -= 1
        self._report_dropped()
        self.logger.log(level, "%s", text[:MAX_LINE])

    def _report_dropped(self) -> None:
        if self.dropped:
            self.logger.warning("%d output line(s) suppressed (rate limit)", self.dropped)
            self.dropped = 0
