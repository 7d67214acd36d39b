"""Retries: exponential backoff with jitter, per-plugin policy, idempotency.

What is retried:

- ``TransientError`` (WF407): the plugin said "try again"; ``retry_after`` is honoured as a
  floor for the wait. A ``retry_after`` beyond ``max_backoff_s`` is not waited for: the call
  fails at once, so one slow source cannot stall a pipeline for longer than the operator
  allowed.
- ``WorkerCrashed`` (WF402), for stateless methods only (``process``, ``fetch``, ``check``,
  ``health``): the worker is restarted with the same config before the next attempt. An
  analyzer's state lives in its worker, so a crashed ``analyze`` is never replayed on a fresh
  worker that has forgotten every batch before it.

Never retried: a method the plugin marked non-idempotent (a class attribute
``non_idempotent = {"method", ...}`` or a function attribute
``__wiseflow_non_idempotent__ = True``), timeouts (WF401: the call may have had effects and
would likely hang again), quota deaths (WF403), protocol violations (WF406) and every
other error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar, final

from ..._contract._errors import TransientError, WorkerCrashed

__all__ = ["NO_RETRY", "RESTARTABLE", "RetryPolicy", "is_non_idempotent", "is_retryable"]

T = TypeVar("T")

#: Methods that may be replayed on a freshly started worker after a crash.
RESTARTABLE = frozenset({"process", "fetch", "check", "health"})


def is_non_idempotent(plugin_class: type[Any] | None, method: str) -> bool:
    """Whether the plugin marked ``method`` as unsafe to call twice."""
    if plugin_class is None:
        return False
    marked = getattr(plugin_class, "non_idempotent", ())
    if isinstance(marked, str):
        marked = (marked,)
    if method in marked:
        return True
    fn = getattr(plugin_class, method, None)
    return bool(getattr(fn, "__wiseflow_non_idempotent__", False))


def is_retryable(exc: BaseException, method: str) -> bool:
    """Whether a failure of ``method`` with ``exc`` is worth another attempt."""
    if isinstance(exc, TransientError):
        return True
    return isinstance(exc, WorkerCrashed) and method in RESTARTABLE


@final
class RetryPolicy:
    """``[plugins.NAME] retry = {attempts, backoff_s, max_backoff_s}`` made executable.

    Args:
        attempts: calls in all (1 = no retry).
        backoff_s: the first wait; doubled on every further attempt.
        max_backoff_s: the longest wait.
        sleep: how to wait (tests and the soak bench pass their own).
        rng: ``() -> float`` in [0, 1) for the jitter.

    Example:
        >>> p = RetryPolicy(attempts=4, backoff_s=0.1, max_backoff_s=1.0, rng=lambda: 0.0)
        >>> [p.delay(n, None) for n in (1, 2, 3, 4, 5)]
        [0.1, 0.2, 0.4, 0.8, 1.0]
    """

    __slots__ = ("attempts", "backoff_s", "max_backoff_s", "rng", "sleep")

    def __init__(
        self,
        attempts: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.attempts = max(1, int(attempts))
        self.backoff_s = max(0.0, float(backoff_s))
        self.max_backoff_s = max(self.backoff_s, float(max_backoff_s))
        self.sleep = sleep
        self.rng = rng

    @classmethod
    def from_config(cls, retry: Any) -> RetryPolicy:
        """From an ``_operator.Retry`` (or None for the defaults of SPEC §4)."""
        if retry is None:
            return cls()
        return cls(retry.attempts, retry.backoff_s, retry.max_backoff_s)

    def delay(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        Exponential (``backoff_s * 2**(attempt-1)``) plus up to half of it again as jitter,
        capped at ``max_backoff_s``; never less than the failure's ``retry_after``.
        """
        base = self.backoff_s * (2 ** max(0, attempt - 1))
        wait = min(self.max_backoff_s, base + base * 0.5 * self.rng())
        after = getattr(exc, "retry_after", None)
        if isinstance(after, int | float) and after > wait:
            wait = float(after)
        return float(wait)

    def should_retry(self, exc: BaseException, method: str) -> bool:
        """Retryable, and not asking for a longer wait than the operator allows."""
        if not is_retryable(exc, method):
            return False
        after = getattr(exc, "retry_after", None)
        return not (isinstance(after, int | float) and after > self.max_backoff_s)

    def for_method(self, method: str, runner: object) -> RetryPolicy:
        """This policy for ``method`` of the plugin ``runner`` runs; NO_RETRY when the plugin
        marked it non-idempotent (on its class, or as reported by its worker)."""
        declared = getattr(runner, "non_idempotent", None)
        if isinstance(declared, set | frozenset) and method in declared:
            return NO_RETRY
        spec = getattr(runner, "spec", None)
        cls = getattr(runner, "_cls", None) or getattr(spec, "plugin_class", None)
        if is_non_idempotent(cls if isinstance(cls, type) else None, method):
            return NO_RETRY
        return self

    def again(
        self,
        method: str,
        attempt: Callable[[], T],
        failed: Exception,
        before_retry: Callable[[BaseException], None],
    ) -> T:
        """The calls after a first attempt that failed with ``failed``: the one retry loop.

        The caller makes the first attempt itself (nothing to set up on success) and comes
        here only when it failed. Each further attempt waits :meth:`delay`, runs
        ``before_retry(exc)`` (the handle restarts a crashed worker there), then calls
        ``attempt()``. The failure that ends it (not retryable, or the last attempt) is
        raised as it is.
        """
        exc: Exception = failed
        done = 1
        while done < self.attempts and self.should_retry(exc, method):
            self.sleep(self.delay(done, exc))
            before_retry(exc)
            done += 1
            try:
                return attempt()
            except Exception as again:
                exc = again
        raise exc


#: The policy of a plugin without retries (and of methods marked non-idempotent).
NO_RETRY = RetryPolicy(attempts=1)
