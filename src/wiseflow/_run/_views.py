"""The hook between a run and the operators' views (``top``, the dashboard, Prometheus).

:func:`run_collector` builds the run's one :class:`~wiseflow._host._metering.Collector` from
the manager: every instance's figures (with its last error, granted secrets masked), the
manager's events, and how an operator's request reaches the running plugins.

A request to disable an instance during a run changes its lifecycle state only
(ACTIVE → DISABLED): from the next call on, the run routes it to its fallback or
dead-letters the records with WF405 (replayable once it is enabled again); a call already
running finishes. Its worker is not released mid-run (another thread may be talking to it);
the run releases it when it ends. Enabling turns it back to ACTIVE. Both are events on the
manager's bus, so the timeline shows them. ``wiseflow plugins disable`` stays the way to
disable a plugin for future runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._host._manager import PluginManager
    from .._host._metering import Collector
    from .._pipeline import Pipeline

__all__ = ["run_collector"]


def run_collector(manager: PluginManager, pipeline: Pipeline) -> Collector:
    """The collector of a run of ``pipeline`` on ``manager``."""
    from .._host._metering import Collector

    def describe() -> list[dict[str, Any]]:
        out = []
        for h in manager.handles():
            doc = h.describe(sample=True)
            err = h.last_error
            if err is not None:
                doc["last_error"] = {
                    "code": err.code,
                    "plugin": h.name,
                    "message": err.message,
                    "hint": err.hint,
                    "traceback": err.traceback,
                }
            out.append(doc)
        masked: list[dict[str, Any]] = manager.redactor.deep(out)
        return masked

    def control(action: str, instance: str) -> str:
        return _control(manager, action, instance)

    collector = Collector(
        describe,
        subscribe=manager.events.subscribe,
        control=control,
        redact=manager.redactor.text,
        label=f"run {pipeline.name}",
    )
    collector.begin(pipeline.name, pipeline.path)
    return collector


def _control(manager: PluginManager, action: str, instance: str) -> str:
    from .._host._lifecycle import PluginState

    try:
        handle = manager.get(instance)
    except Exception:
        return f"no instance named {instance!r} in this run"
    state = handle.state
    if action == "disable":
        if state is not PluginState.ACTIVE:
            return f"not disabled: it is {state.value}, not ACTIVE"
        handle.lifecycle.transition(PluginState.DISABLED, "disabled from the dashboard")
        return "disabled: its next calls go to its fallback or are dead-lettered (WF405)"
    if state is not PluginState.DISABLED:
        return f"not enabled: it is {state.value}, not DISABLED"
    if handle.recovery.released:
        handle.resume()
    handle.lifecycle.transition(PluginState.ACTIVE, "enabled from the dashboard")
    return "enabled"
