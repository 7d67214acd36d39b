"""The manager's lifecycle transitions of loaded instances: initialize, activate, disable,
enable, shut down, uninstall, replace (hot reload) and close.

:class:`Transitions` is a base of :class:`~wiseflow._host._manager.PluginManager`: loading
(finding, checking, assembling an instance) stays there, and what happens to an instance
once it is in the registry is here. None of it holds a lock while plugin code runs.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from .._contract._errors import ConfigError
from ._lifecycle import EventBus, PluginState
from ._registry import Registry

if TYPE_CHECKING:
    from ._handle import PluginHandle

__all__ = ["Transitions"]


class Transitions:
    """Lifecycle transitions over the registry of a manager (see the module)."""

    _registry: Registry
    events: EventBus

    if TYPE_CHECKING:  # the manager's

        def get(self, name: str) -> PluginHandle: ...

        def handles(self, kind: str | None = None) -> list[PluginHandle]: ...

    def initialize(self, name: str, config: dict[str, Any] | None = None) -> PluginHandle:
        """Validate the config (WF105) and call the plugin's ``initialize``."""
        handle = self.get(name)
        raw = self._registry.config(name, {}) if config is None else dict(config)
        self._registry.set_config(name, raw)
        handle.config = raw
        try:
            handle.initialize(raw)
        except ConfigError:
            raise  # stays LOADED: the operator fixes the config and tries again
        except Exception as exc:
            err = handle._failed(exc, "initialize")
            if handle.lifecycle.can(PluginState.ERROR):
                handle.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
            raise err from exc
        handle.lifecycle.transition(PluginState.INITIALIZED)
        return handle

    def activate(self, name: str) -> PluginHandle:
        """INITIALIZED → ACTIVE: the plugin starts taking calls."""
        handle = self.get(name)
        handle.lifecycle.transition(PluginState.ACTIVE)
        return handle

    def disable(self, name: str, reason: str = "disabled by operator") -> PluginHandle:
        """→ DISABLED: calls are refused and the plugin's resources released until enabled."""
        handle = self.get(name)
        handle.lifecycle.transition(PluginState.DISABLED, reason)
        handle.disable()  # releases the worker, threads, scratch files
        return handle

    def enable(self, name: str) -> PluginHandle:
        """DISABLED → ACTIVE; ERROR → a fresh start with the same config."""
        handle = self.get(name)
        if handle.state is PluginState.ERROR:
            # in place: a pipeline holding this handle sees the plugin come back
            handle.config = self._registry.config(name, handle.config)
            handle.recover("re-enabled by operator")
            if handle.breaker is not None:
                handle.breaker.reset()
            return handle
        handle.resume()
        handle.lifecycle.transition(PluginState.ACTIVE, "enabled")
        return handle

    def shutdown(self, name: str) -> PluginHandle:
        """Call the plugin's ``shutdown`` and release everything it holds (→ UNLOADED)."""
        handle = self.get(name)
        if handle.state is PluginState.UNLOADED:
            return handle
        handle.release()
        handle.lifecycle.transition(PluginState.UNLOADED, "shut down")
        self.events.unsubscribe_plugin(name)
        return handle

    def uninstall(self, name: str) -> None:
        """Shut down and forget the instance; its event subscriptions are dropped too."""
        handle = self.get(name)
        if handle.state in (PluginState.INITIALIZED, PluginState.ACTIVE):
            self.shutdown(name)
        else:
            handle.release()
        handle.lifecycle.transition(PluginState.UNINSTALLED, "uninstalled")
        self.events.unsubscribe_plugin(name)
        self._registry.remove(name)
        if handle.origin == "dir":
            from .._contract._loader import (
                forget_folder_plugin,  # import machinery only when needed
            )

            forget_folder_plugin(handle.plugin)

    # -- hot reload (wiseflow run --watch; see ._reload) ----------------------------------

    def configured(self, name: str) -> dict[str, Any]:
        """The raw config instance ``name`` was started with."""
        return dict(self._registry.config(name, {}))

    def replace(self, name: str, new: PluginHandle, reason: str = "reloaded") -> None:
        """Put ``new`` (a started instance, see :func:`~._reload.replacement`) in place of
        instance ``name``, and shut the old one down. Call it when no call is in flight."""
        old = self._registry.get(name)
        self._registry.add(name, new, self._registry.config(name, {}))
        if old is not None and old is not new:
            old.release()
            if old.lifecycle.can(PluginState.UNLOADED):
                old.lifecycle.transition(PluginState.UNLOADED, reason)

    def close(self, names: Collection[str] | None = None) -> None:
        """Shut every instance (or those of ``names``) down, dependents before their
        dependencies; the manager stays usable."""
        for handle in reversed(self.handles()):
            if names is not None and handle.name not in names:
                continue
            if handle.state not in (PluginState.UNLOADED, PluginState.UNINSTALLED):
                handle.release()
                if handle.lifecycle.can(PluginState.UNLOADED):
                    handle.lifecycle.transition(PluginState.UNLOADED, "manager closed")
