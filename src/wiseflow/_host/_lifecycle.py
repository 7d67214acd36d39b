"""Plugin lifecycle: states, the declared transition table, events and hooks.

Only transitions in :data:`TRANSITIONS` are allowed; anything else raises
:class:`~wiseflow.InvalidTransition` (WF405). Every transition publishes a
:class:`PluginEvent` on the :class:`EventBus`; hooks registered for the new state or for the
transition's name run after it. A failing subscriber or hook is logged and never breaks the
transition.
"""

# No `from __future__ import annotations` here: public Structs are re-homed to `wiseflow`,
# and msgspec resolves string annotations through the class's module.

import enum
import inspect
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, final

import msgspec

from .._contract._errors import InvalidTransition

if TYPE_CHECKING:
    import asyncio

__all__ = ["TRANSITIONS", "EventBus", "Lifecycle", "PluginEvent", "PluginState"]

log = logging.getLogger("wiseflow.lifecycle")


class PluginState(enum.StrEnum):
    """The lifecycle states of a plugin instance (see :data:`TRANSITIONS`)."""

    UNLOADED = "UNLOADED"
    LOADED = "LOADED"
    INITIALIZED = "INITIALIZED"
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    ERROR = "ERROR"
    UNINSTALLED = "UNINSTALLED"


S = PluginState

#: (from, to) -> the transition's name. Anything absent is refused with WF405.
TRANSITIONS: dict[tuple[PluginState, PluginState], str] = {
    (S.UNLOADED, S.LOADED): "load",
    (S.UNLOADED, S.ERROR): "fail",
    (S.UNLOADED, S.UNINSTALLED): "uninstall",
    (S.LOADED, S.INITIALIZED): "initialize",
    (S.LOADED, S.ERROR): "fail",
    (S.LOADED, S.UNLOADED): "unload",
    (S.LOADED, S.UNINSTALLED): "uninstall",
    (S.INITIALIZED, S.ACTIVE): "activate",
    (S.INITIALIZED, S.DISABLED): "disable",
    (S.INITIALIZED, S.ERROR): "fail",
    (S.INITIALIZED, S.UNLOADED): "shutdown",
    (S.ACTIVE, S.DISABLED): "disable",
    (S.ACTIVE, S.ERROR): "fail",
    (S.ACTIVE, S.UNLOADED): "shutdown",
    (S.DISABLED, S.ACTIVE): "enable",
    (S.DISABLED, S.ERROR): "fail",
    (S.DISABLED, S.UNLOADED): "shutdown",
    (S.DISABLED, S.UNINSTALLED): "uninstall",
    (S.ERROR, S.UNLOADED): "reset",
    (S.ERROR, S.DISABLED): "disable",
    (S.ERROR, S.UNINSTALLED): "uninstall",
}

#: Transition names (for hooks keyed by event).
EVENTS = frozenset(TRANSITIONS.values())


@final
class PluginEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A lifecycle transition (or another host event, e.g. ``breaker-open``) of a plugin."""

    plugin: str
    old: PluginState | None
    new: PluginState | None
    reason: str = ""
    time: datetime = msgspec.field(default_factory=lambda: datetime.now(UTC))
    event: str = ""  # the transition's name ("load", "fail", ...) or a host event name


Subscriber = Callable[[PluginEvent], Any]


@final
class EventBus:
    """Synchronous publish/subscribe for plugin events; one per manager.

    Subscribers may be plain or ``async`` functions. A coroutine is scheduled on the running
    loop if there is one, else run to completion. A subscriber's failure is logged.
    """

    def __init__(self) -> None:
        self._subscribers: list[tuple[Subscriber, str | None]] = []
        self._lock = threading.Lock()
        self.errors = 0
        self.pending: set[asyncio.Task[None]] = set()

    def subscribe(self, fn: Subscriber, *, plugin: str | None = None) -> Callable[[], None]:
        """Call ``fn`` for every event (of ``plugin`` only, if given); returns unsubscribe."""
        entry = (fn, plugin)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def unsubscribe_plugin(self, plugin: str) -> int:
        """Drop every subscription registered for ``plugin``; returns how many."""
        with self._lock:
            before = len(self._subscribers)
            self._subscribers = [s for s in self._subscribers if s[1] != plugin]
            return before - len(self._subscribers)

    def __len__(self) -> int:
        return len(self._subscribers)

    def publish(self, event: PluginEvent) -> None:
        """Deliver ``event`` to every matching subscriber; their failures are logged."""
        with self._lock:
            targets = [fn for fn, only in self._subscribers if only in (None, event.plugin)]
        for fn in targets:
            _run_isolated(fn, event, self)


def _run_isolated(fn: Callable[[PluginEvent], Any], event: PluginEvent, bus: EventBus) -> None:
    try:
        out = fn(event)
        if inspect.isawaitable(out):
            import asyncio  # only async subscribers pay for asyncio

            from .._contract._instance import awaited

            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(awaited(out))
            else:
                task = loop.create_task(awaited(out))
                bus.pending.add(task)  # keep a reference until done
                task.add_done_callback(bus.pending.discard)
    except Exception:
        bus.errors += 1
        log.exception("event subscriber %r failed on %s", fn, event.event or event.new)


@final
class Lifecycle:
    """The state of one plugin instance and its hooks.

    Example:
        >>> lc = Lifecycle("demo", EventBus())
        >>> lc.transition(PluginState.LOADED, "imported")
        >>> lc.state
        <PluginState.LOADED: 'LOADED'>
    """

    __slots__ = ("_bus", "_hooks", "_lock", "history", "plugin", "state")

    def __init__(self, plugin: str, bus: EventBus) -> None:
        self.plugin = plugin
        self.state = PluginState.UNLOADED
        self._bus = bus
        self._hooks: dict[str, list[Subscriber]] = {}
        self._lock = threading.RLock()
        self.history: list[PluginEvent] = []

    def can(self, new: PluginState) -> bool:
        return (self.state, new) in TRANSITIONS

    def on(self, key: PluginState | str, fn: Subscriber) -> None:
        """Run ``fn(event)`` after entering state ``key`` or after transition ``key``."""
        name = key.value if isinstance(key, PluginState) else key
        if name not in PluginState.__members__ and name not in EVENTS:
            raise ValueError(f"unknown state or event {key!r}")
        self._hooks.setdefault(name, []).append(fn)

    def transition(self, new: PluginState, reason: str = "") -> PluginEvent:
        """Move to ``new``; raises WF405 when the table does not allow it."""
        with self._lock:
            old = self.state
            name = TRANSITIONS.get((old, new))
            if name is None:
                allowed = sorted(t.value for (f, t) in TRANSITIONS if f is old)
                raise InvalidTransition(
                    f"plugin '{self.plugin}' cannot go from {old.value} to {new.value}",
                    plugin=self.plugin,
                    hint=f"from {old.value} it may go to: {', '.join(allowed) or 'nothing'}",
                )
            self.state = new
            event = PluginEvent(plugin=self.plugin, old=old, new=new, reason=reason, event=name)
            self.history.append(event)
        self._bus.publish(event)
        for key in (new.value, name):
            for hook in list(self._hooks.get(key, ())):
                _run_isolated(hook, event, self._bus)
        return event
