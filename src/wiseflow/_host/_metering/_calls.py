"""Call figures of one plugin instance: counts, records, errors, latency percentiles."""

from __future__ import annotations

from collections import deque
from typing import Any, final

__all__ = ["CallStats"]


@final
class CallStats:
    """Counts and latencies of the calls made through one handle.

    ``calls`` counts calls made by callers; ``retries`` the extra attempts behind them;
    ``fallback_calls`` the calls the fallback served instead; ``restarts`` worker restarts.
    Latencies (seconds, the last 2048 calls, retries and backoff included) give p50/p95.
    """

    __slots__ = (
        "calls",
        "cpu_s",
        "error_codes",
        "errors",
        "fallback_calls",
        "latencies",
        "records_in",
        "records_out",
        "restarts",
        "retries",
    )

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.error_codes: dict[str, int] = {}
        self.latencies: deque[float] = deque(maxlen=2048)
        self.records_in = 0
        self.records_out = 0
        self.cpu_s = 0.0
        self.retries = 0
        self.restarts = 0
        self.fallback_calls = 0

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "error_codes": sorted(self.error_codes),
            "records_in": self.records_in,
            "records_out": self.records_out,
            "retries": self.retries,
            "restarts": self.restarts,
            "fallback_calls": self.fallback_calls,
            "p50_ms": _ms(self.percentile(0.5)),
            "p95_ms": _ms(self.percentile(0.95)),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)
