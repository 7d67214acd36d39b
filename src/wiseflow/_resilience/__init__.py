"""Resilience: what the host does when a plugin call fails.

- ``_retry``: which failures are retried, with exponential backoff and jitter (tenacity),
  honouring ``TransientError.retry_after``; never a call the plugin marked non-idempotent.
- ``_breaker``: a circuit breaker per plugin instance (closed → open → half-open → closed).
- ``_recovery``: restarting a plugin in ERROR in place; releasing what a plugin held.
- ``_fallback``: which failures count against the breaker, and when the manifest's
  ``fallback`` plugin serves instead.

All of it is driven from :class:`~wiseflow._handle.PluginHandle`, the single dispatch point.
"""

from ._breaker import BreakerState, CircuitBreaker
from ._fallback import FATAL_CODES, counts_against_breaker, fallback_problem, serves_fallback
from ._recovery import Recovery
from ._retry import RetryPolicy, is_non_idempotent, is_retryable

__all__ = [
    "FATAL_CODES",
    "BreakerState",
    "CircuitBreaker",
    "Recovery",
    "RetryPolicy",
    "counts_against_breaker",
    "fallback_problem",
    "is_non_idempotent",
    "is_retryable",
    "serves_fallback",
]
