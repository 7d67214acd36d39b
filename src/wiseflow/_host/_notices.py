"""What a plugin handle tells the world around it, beside what its calls return.

Events as they happen (:class:`Notices`: the breaker opening or closing, a soft limit
crossed) and its figures when asked (:func:`describe`: ``plugins list``, ``top``,
``run --json`` and the Prometheus export read them). Nothing here is on the call path.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any, final

from .._contract._errors import WiseflowWarning
from ._lifecycle import EventBus, Lifecycle, PluginEvent
from ._metering import soft_limit_reason

if TYPE_CHECKING:
    from ._handle import PluginHandle
    from ._resilience import BreakerState

__all__ = ["Notices", "describe"]

log = logging.getLogger("wiseflow.handle")


@final
class Notices:
    """Publishes one plugin instance's events on the manager's bus (when there is one)."""

    __slots__ = ("events", "lifecycle", "name")

    def __init__(self, name: str, lifecycle: Lifecycle, events: EventBus | None) -> None:
        self.name = name
        self.lifecycle = lifecycle
        self.events = events

    def publish(self, event: str, reason: str) -> None:
        """An event that leaves the plugin's state as it is (old == new)."""
        if self.events is not None:
            state = self.lifecycle.state
            self.events.publish(
                PluginEvent(plugin=self.name, old=state, new=state, reason=reason, event=event)
            )

    def breaker_changed(self, old: BreakerState, new: BreakerState, reason: str) -> None:
        """The breaker's ``on_change``: logged, and published as ``breaker-<state>``."""
        log.warning("plugin %s: breaker %s → %s (%s)", self.name, old.value, new.value, reason)
        self.publish(f"breaker-{new.value}", reason)

    def soft_limit(self, resource: str, value: float, soft: float, hard: float | None) -> None:
        """The meter's ``on_soft``: published as ``quota-soft`` and warned."""
        reason = soft_limit_reason(resource, value, soft, hard)
        self.publish("quota-soft", reason)
        warnings.warn(WiseflowWarning(f"plugin '{self.name}': {reason}"), stacklevel=2)


def describe(handle: PluginHandle, *, sample: bool = False) -> dict[str, Any]:
    """State and figures of ``handle`` (see :meth:`PluginHandle.describe`)."""
    if sample and not handle.meter.in_process:
        handle.meter.sample(full=True)
    return {
        "name": handle.name,
        "plugin": handle.plugin,
        "version": handle.version,
        "kind": handle.kind,
        "origin": handle.origin,
        "level": handle.level,
        "state": handle.state.value,
        "pid": handle.runner.pid(),
        **handle.stats.to_dict(),
        "breaker": handle.breaker.to_dict() if handle.breaker else {"state": "closed"},
        "fallback": handle.fallback.name if handle.fallback is not None else None,
        "log_dropped": handle.log_dropped,
        "resources": handle.meter.to_dict(),
        **_behaviour(handle.runner),
    }


def _behaviour(runner: Any) -> dict[str, Any]:
    """``{"behaviour": ...}`` when a sandboxed worker's audit hook reported attempts.

    Trusted (in-process) plugins have no hook: the host's own audit events would be mixed in.
    """
    behaviour = getattr(runner, "behaviour", None)
    summary = behaviour.to_dict() if behaviour is not None else None
    return {"behaviour": summary} if summary else {}
