"""Bringing a plugin back, and releasing what it holds: the lifecycle side of a handle.

:class:`Recovery` is a mixin of :class:`~wiseflow._handle.PluginHandle` (kept apart so the
dispatch point stays readable). It restarts a plugin in ERROR in place — automatically
after the cool-down (``[plugins.NAME] breaker.reset_s`` when a breaker is configured) or
when the operator re-enables it — and releases everything a plugin held when it is
disabled, shut down or uninstalled: the worker's process group and scratch files (the
runner), threads a trusted plugin started (joined, or warned about), live metering.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .._errors import WiseflowError
from .._lifecycle import Lifecycle, PluginEvent, PluginState
from .._metering import PluginMeter, ThreadLedger
from .._runner import Runner

__all__ = ["Recovery"]

log = logging.getLogger("wiseflow.handle")


class Recovery:
    """Mixin: in-place recovery and release. Subclassed by ``PluginHandle`` only."""

    name: str
    runner: Runner
    lifecycle: Lifecycle
    meter: PluginMeter
    threads: ThreadLedger
    config: dict[str, Any]
    last_error: WiseflowError | None
    timeout_s: float | None
    recover_after_s: float | None
    _released: bool
    _error_at: float
    _recovering: threading.Lock
    _last_health: dict[str, Any]

    def _failed(self, exc: BaseException, method: str, args: tuple[Any, ...] = ()) -> WiseflowError:
        raise NotImplementedError

    def _entered_error(self, event: PluginEvent) -> None:
        self._error_at = time.monotonic()

    def _maybe_recover(self) -> None:
        if (
            self.recover_after_s is None
            or self.lifecycle.state is not PluginState.ERROR
            or time.monotonic() - self._error_at < self.recover_after_s
            or not self._recovering.acquire(blocking=False)
        ):
            return
        try:
            self.recover("automatic, after the cool-down")
        except WiseflowError as exc:
            log.warning("plugin %s: automatic recovery failed: %s", self.name, exc)
        finally:
            self._recovering.release()

    def recover(self, reason: str = "re-enabled") -> None:
        """ERROR → UNLOADED → LOADED → INITIALIZED → ACTIVE, in place, with fresh code.

        The same handle serves on, so a running pipeline holding it sees the plugin back.
        """
        self.release()
        self.lifecycle.transition(PluginState.UNLOADED, f"reset: {reason}")
        try:
            self.runner.load()
        except Exception as exc:
            err = self._failed(exc, "load")
            if self.lifecycle.can(PluginState.ERROR):
                self.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
            raise err from exc
        self._released = False
        self.lifecycle.transition(PluginState.LOADED, reason)
        try:
            self.initialize(self.config)
        except Exception as exc:
            err = self._failed(exc, "initialize")
            if self.lifecycle.can(PluginState.ERROR):
                self.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
            raise err from exc
        self.lifecycle.transition(PluginState.INITIALIZED, reason)
        self.lifecycle.transition(PluginState.ACTIVE, reason)

    def initialize(self, config: dict[str, Any]) -> None:
        """Initialize the plugin with ``config`` (threads it starts are remembered)."""
        self.config = config
        mark = self.threads.mark()
        try:
            self.runner.initialize(config)
        finally:
            if self.meter.in_process:
                self.threads.adopt_since(mark)
        self._released = False

    def resume(self) -> None:
        """Bring a released (disabled) plugin back: a fresh load and initialize."""
        if self._released:
            self.runner.load()
            self.initialize(self.config)

    def disable(self) -> None:
        """Keep the plugin's last health answer, then release everything it holds."""
        if not self._released and (self.runner.pid() is not None or self.meter.in_process):
            try:  # straight to the runner: a dead worker must not flip the state to ERROR
                self._last_health = self.runner.call("health", [], self.timeout_s)
            except Exception as exc:
                self._last_health = {"ok": False, "error": str(exc)}
        elif self.last_error is not None:
            self._last_health = {"ok": False, "error": str(self.last_error)}
        self.release()

    def release(self) -> None:
        """Shut the plugin down and free what it held: worker process group, scratch files,
        threads it started (warned about when they do not stop)."""
        self._released = True
        self.meter.forget_worker()
        try:
            self.runner.close()
        except Exception:
            log.exception("closing plugin %s failed", self.name)
        self.threads.reap()
