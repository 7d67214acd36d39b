"""Routing: who serves a call while a plugin is unwell, and which fallback may stand in.

The fallback named in the manifest serves while the breaker is open or the plugin is in
ERROR; it must be of the same kind (a connector stands in for a connector). Which failures
make a plugin unwell is the :mod:`~wiseflow._host._resilience._judge`'s call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar, final

from ..._contract._errors import CircuitOpen, InvalidTransition
from ..._contract._manifest import Manifest
from .._lifecycle import Lifecycle, PluginState
from .._metering import CallStats
from ._breaker import CircuitBreaker
from ._judge import Judge
from ._recovery import Recovery

__all__ = ["Router", "fallback_problem"]

T = TypeVar("T")


def fallback_problem(primary: Manifest, fallback: Manifest) -> str | None:
    """Why ``fallback`` cannot stand in for ``primary`` (None when it can)."""
    if fallback.kind != primary.kind:
        return (
            f"fallback '{fallback.name}' is a {fallback.kind}, but '{primary.name}' is a "
            f"{primary.kind}; a fallback must be of the same kind"
        )
    if fallback.fallback == primary.name:
        return f"'{primary.name}' and '{fallback.name}' name each other as fallback"
    return None


class StandIn(Protocol):
    """What a fallback is to the router: a handle with a lifecycle state."""

    @property
    def state(self) -> PluginState: ...


H = TypeVar("H", bound=StandIn)

#: Methods callable per state (anything else is refused with WF405).
_CALLABLE_WHEN: dict[str, frozenset[PluginState]] = {
    "health": frozenset({PluginState.INITIALIZED, PluginState.ACTIVE, PluginState.DISABLED}),
}
_ACTIVE_ONLY = frozenset({PluginState.ACTIVE})
_depth = threading.local()  # fallback chains: refuse to go round in circles


@final
class Router(Generic[H]):
    """Who serves a call when the plugin is not ACTIVE or its breaker is not closed.

    Consulted by the handle only then: a plugin in ERROR past its cool-down is restarted
    first; a plugin in ERROR, or whose breaker is open, is served by its ``fallback`` when
    that one is ACTIVE; otherwise the call fails fast (WF405 for the state, WF404 for the
    breaker). ``health`` is answered in more states and never held back by the breaker.
    """

    __slots__ = ("breaker", "fallback", "judge", "lifecycle", "name", "recovery", "stats")

    def __init__(
        self,
        *,
        name: str,
        lifecycle: Lifecycle,
        breaker: CircuitBreaker | None,
        recovery: Recovery,
        judge: Judge,
        stats: CallStats,
    ) -> None:
        self.name = name
        self.lifecycle = lifecycle
        self.breaker = breaker
        self.recovery = recovery
        self.judge = judge
        self.stats = stats
        self.fallback: H | None = None

    def route(self, method: str) -> H | None:
        """The handle that should serve ``method`` now: None for the plugin itself."""
        self.recovery.maybe_recover()
        fb = self.fallback
        usable = fb if fb is not None and fb.state is PluginState.ACTIVE else None
        if self.lifecycle.state is PluginState.ERROR and usable is not None:
            return self._via(usable)
        self._check_state(method)
        breaker = self.breaker
        if breaker is None or method == "health" or breaker.allow():
            return None
        if usable is not None:
            return self._via(usable)
        raise CircuitOpen(
            f"plugin '{self.name}' failed repeatedly ({breaker.reason}); calls fail "
            f"fast for another {breaker.retry_in():.1f}s",
            plugin=self.name,
        )

    def _check_state(self, method: str) -> None:
        allowed = _CALLABLE_WHEN.get(method, _ACTIVE_ONLY)
        state = self.lifecycle.state
        if state not in allowed:
            states = ", ".join(sorted(s.value for s in allowed))
            why = ""
            last = self.judge.last_error
            if state is PluginState.ERROR and last is not None:
                why = f" (after {last.code}: {last.message})"
            raise InvalidTransition(
                f"cannot call {method}() on plugin '{self.name}' in state {state.value}{why}",
                plugin=self.name,
                hint=f"{method}() needs state {states}; use `wiseflow plugins enable`",
            )

    def _via(self, fb: H) -> H:
        if getattr(_depth, "n", 0) >= 4:
            raise CircuitOpen(
                f"plugin '{self.name}' and its fallbacks are all failing", plugin=self.name
            )
        self.stats.fallback_calls += 1
        return fb

    @staticmethod
    def nested(call: Callable[[], T]) -> T:
        """Run ``call`` (a fallback's call) one level deeper in the fallback chain."""
        _depth.n = getattr(_depth, "n", 0) + 1
        try:
            return call()
        finally:
            _depth.n -= 1
