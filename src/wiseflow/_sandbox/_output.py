"""A worker's stdout/stderr, turned into the plugin's log lines at a bounded rate.

Plugin output never shares the protocol channel. Lines (and the worker's ``Log`` frames)
go through the plugin's :class:`~wiseflow._policy._ratelimit.LogLimiter`, shared with everything
else the host logs on the plugin's behalf: redacted, cut at
:data:`~wiseflow._policy._ratelimit.MAX_LINE` characters, dropped and counted beyond the rate. An
over-long line is logged once, cut; the rest of it up to the next newline is skipped, so
one line of output is never split into several log records (nor a secret across two). The
last lines are kept for the message of a crash.
"""

from __future__ import annotations

import logging
import os
from collections import deque

from .._policy._ratelimit import MAX_LINE, LogLimiter

__all__ = ["MAX_LINE", "OutputPump"]

#: Bytes of one line buffered before it is cut: enough that a secret starting within the
#: first MAX_LINE characters is whole when the line is redacted.
_HOLD = MAX_LINE + 8192


class OutputPump:
    """Reads one pipe without blocking and logs its lines on ``logger``."""

    __slots__ = ("_partial", "_skipping", "fd", "limiter", "logger", "tail")

    def __init__(
        self,
        fd: int,
        logger: logging.Logger,
        *,
        rate: float = 200.0,
        burst: float = 1000.0,
        limiter: LogLimiter | None = None,
    ) -> None:
        self.fd = fd
        self.logger = logger
        self.limiter = limiter if limiter is not None else LogLimiter(rate=rate, burst=burst)
        self.tail: deque[str] = deque(maxlen=20)
        self._partial = b""
        self._skipping = False

    @property
    def dropped(self) -> int:
        """Lines dropped by the rate limit and not yet reported."""
        return self.limiter.dropped

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
        self._feed(data)
        return True

    def _feed(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            if self._skipping:  # the rest of a line already logged, cut
                self._skipping = False
                continue
            self._line(raw)
        if len(self._partial) > _HOLD:
            if not self._skipping:
                self._line(self._partial)
                self._skipping = True
            self._partial = b""

    def drain_now(self, limit: int = 1 << 20) -> None:
        """Read what the pipe holds now, up to ``limit`` bytes, then flush the last line.

        Never waits: a writer that outlived the worker cannot keep the host here.
        """
        for _ in range(max(1, limit // 65536)):
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # BlockingIOError included: nothing more now
                break
            if not data:
                break
            self._feed(data)
        self.flush()

    def flush(self) -> None:
        if self._partial and not self._skipping:
            self._line(self._partial)
        self._partial = b""
        self._skipping = False
        self.limiter.report(self.logger)

    def _line(self, raw: bytes) -> None:
        text = raw[:_HOLD].decode("utf-8", "replace").rstrip("\r")
        if self.limiter.redactor:
            text = self.limiter.redactor.text(text)
        self.tail.append(text[:MAX_LINE])
        self.emit(logging.INFO, text)

    def emit(self, level: int, text: str) -> None:
        """Log ``text`` at ``level`` (clamped to DEBUG..ERROR) unless over the rate."""
        level = min(max(level, logging.DEBUG), logging.ERROR)
        self.limiter.emit(self.logger, level, text)
