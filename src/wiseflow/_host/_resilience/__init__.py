"""Resilience: what the host does when a plugin call fails.

- ``_retry``: which failures are retried, with exponential backoff and jitter, honouring
  ``TransientError.retry_after``; never a call the plugin marked non-idempotent. One retry
  loop (:meth:`RetryPolicy.again`) serves calls and streams.
- ``_breaker``: a circuit breaker per plugin instance (closed → open → half-open → closed).
- ``_judge``: the host's verdict on a failed call: which failures count against the
  breaker, which are fatal (counted, logged, breaker, ERROR).
- ``_recovery``: restarting a plugin in ERROR in place; releasing what a plugin held.
- ``_fallback``: routing while a plugin is unwell (its ``fallback``, or fail fast).

All of it is driven from :class:`~wiseflow._host._handle.PluginHandle`, the single dispatch point,
which owns one :class:`Judge`, one :class:`Recovery` and one :class:`Router`.
"""

from ._breaker import BreakerState, CircuitBreaker
from ._fallback import Router, fallback_problem
from ._judge import FATAL_CODES, Judge, counts_against_breaker, unstorable, wrong_return
from ._recovery import Recovery
from ._retry import NO_RETRY, RetryPolicy, is_non_idempotent, is_retryable

__all__ = [
    "FATAL_CODES",
    "NO_RETRY",
    "BreakerState",
    "CircuitBreaker",
    "Judge",
    "Recovery",
    "RetryPolicy",
    "Router",
    "counts_against_breaker",
    "fallback_problem",
    "is_non_idempotent",
    "is_retryable",
    "unstorable",
    "wrong_return",
]
