"""The instances of one manager: their handles in load order, and the config each got."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, final

from .._contract._errors import DiscoveryError

if TYPE_CHECKING:
    from ._handle import PluginHandle

__all__ = ["Registry"]


@final
class Registry:
    """Handles by instance name, in load order; safe to read from any thread.

    The lock is held only for the bookkeeping, never while plugin code runs, so a plugin
    may call back into its manager (``ctx.plugin``, ``get``) from ``initialize``.
    """

    __slots__ = ("_configs", "_handles", "_lock", "_order")

    def __init__(self) -> None:
        self._handles: dict[str, PluginHandle] = {}
        self._order: list[str] = []
        self._configs: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()

    def get(self, name: str | None) -> PluginHandle | None:
        with self._lock:
            return self._handles.get(name) if name else None

    def require(self, name: str) -> PluginHandle:
        """The handle of a loaded instance; WF100 when it is not loaded."""
        handle = self.get(name)
        if handle is None:
            raise DiscoveryError(
                f"plugin '{name}' is not loaded",
                plugin=name,
                hint="load it first (PluginManager.load/start) or check `wiseflow plugins list`",
            )
        return handle

    def add(self, name: str, handle: PluginHandle, config: dict[str, Any]) -> None:
        """Keep ``handle`` (replacing an older one of that name, which moves to the end)."""
        with self._lock:
            self._handles[name] = handle
            if name in self._order:
                self._order.remove(name)
            self._order.append(name)
            self._configs[name] = config

    def remove(self, name: str) -> None:
        with self._lock:
            self._handles.pop(name, None)
            if name in self._order:
                self._order.remove(name)

    def handles(self) -> list[PluginHandle]:
        """Every handle, in load order."""
        with self._lock:
            return [self._handles[n] for n in self._order if n in self._handles]

    def config(self, name: str, default: dict[str, Any]) -> dict[str, Any]:
        """The raw config ``name`` was last given (``default`` when none)."""
        return self._configs.get(name, default)

    def set_config(self, name: str, config: dict[str, Any]) -> None:
        self._configs[name] = config

    def __contains__(self, name: str) -> bool:
        return name in self._handles
