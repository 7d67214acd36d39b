"""Bringing a plugin back, and releasing what it holds: the lifecycle side of a handle.

:class:`Recovery` is a collaborator owned by one :class:`~wiseflow._host._handle.PluginHandle`
(which delegates ``recover``, ``initialize``, ``resume``, ``disable`` and ``release`` to
it). It restarts a plugin in ERROR in place — automatically after the cool-down
(``[plugins.NAME] breaker.reset_s`` when a breaker is configured) or when the operator
re-enables it — replaces a crashed worker before a retry, and releases everything a plugin
held when it is disabled, shut down or uninstalled: the worker's process group and scratch
files (the runner), threads a trusted plugin started (joined, or warned about), live
metering.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, final

from ..._contract._errors import WiseflowError
from .._lifecycle import Lifecycle, PluginEvent, PluginState
from .._metering import CallStats, PluginMeter, ThreadLedger
from .._runner import Runner

__all__ = ["Recovery"]

log = logging.getLogger("wiseflow.handle")

#: ``failed(exc, method)``: the handle's verdict on a failure (counted, logged, judged).
Failed = Callable[[BaseException, str], WiseflowError]


@final
class Recovery:
    """Restart in place, worker restarts, release and resume for one plugin instance.

    Args:
        name: the instance name (for logs).
        runner, lifecycle, meter, threads, stats: the handle's own.
        timeout_s: the instance's call timeout (the last ``health`` call before release).
        recover_after_s: the cool-down after which a call restarts a plugin in ERROR
            (None: only the operator brings it back).
        failed: the handle's verdict on a failure during load or initialize.
    """

    __slots__ = (
        "_error_at", "_failed", "_lock", "config", "last_health", "lifecycle", "meter",
        "name", "recover_after_s", "released", "runner", "stats", "threads", "timeout_s",
    )  # fmt: skip

    def __init__(
        self,
        *,
        name: str,
        runner: Runner,
        lifecycle: Lifecycle,
        meter: PluginMeter,
        threads: ThreadLedger,
        stats: CallStats,
        timeout_s: float | None,
        recover_after_s: float | None,
        failed: Failed,
    ) -> None:
        self.name = name
        self.runner = runner
        self.lifecycle = lifecycle
        self.meter = meter
        self.threads = threads
        self.stats = stats
        self.timeout_s = timeout_s
        self.recover_after_s = recover_after_s
        self._failed = failed
        self.config: dict[str, Any] = {}
        self.released = False
        self.last_health: dict[str, Any] = {"ok": True}
        self._error_at = 0.0
        self._lock = threading.Lock()
        lifecycle.on(PluginState.ERROR, self._entered_error)

    def _entered_error(self, event: PluginEvent) -> None:
        self._error_at = time.monotonic()

    def maybe_recover(self) -> None:
        """Restart a plugin in ERROR whose cool-down has passed (one thread at a time)."""
        if (
            self.recover_after_s is None
            or self.lifecycle.state is not PluginState.ERROR
            or time.monotonic() - self._error_at < self.recover_after_s
            or not self._lock.acquire(blocking=False)
        ):
            return
        try:
            self.recover("automatic, after the cool-down")
        except WiseflowError as exc:
            log.warning("plugin %s: automatic recovery failed: %s", self.name, exc)
        finally:
            self._lock.release()

    def recover(self, reason: str = "re-enabled") -> None:
        """ERROR → UNLOADED → LOADED → INITIALIZED → ACTIVE, in place, with fresh code."""
        self.release()
        self.lifecycle.transition(PluginState.UNLOADED, f"reset: {reason}")
        self._step("load", self.runner.load)
        self.released = False
        self.lifecycle.transition(PluginState.LOADED, reason)
        self._step("initialize", lambda: self.initialize(self.config))
        self.lifecycle.transition(PluginState.INITIALIZED, reason)
        self.lifecycle.transition(PluginState.ACTIVE, reason)

    def _step(self, method: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:
            err = self._failed(exc, method)
            if self.lifecycle.can(PluginState.ERROR):
                self.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
            raise err from exc

    def initialize(self, config: dict[str, Any]) -> None:
        """Initialize the plugin with ``config`` (threads it starts are remembered)."""
        self.config = config
        mark = self.threads.mark()
        try:
            self.runner.initialize(config)
        finally:
            if self.meter.in_process:
                self.threads.adopt_since(mark)
        self.released = False

    def restart_worker(self) -> None:
        """Replace a crashed worker by a fresh one with the same config."""
        self.stats.restarts += 1
        self.meter.forget_worker()
        self.runner.close()
        self.runner.load()
        self.runner.initialize(self.config)
        log.warning("plugin %s: worker restarted (restart %d)", self.name, self.stats.restarts)

    def resume(self) -> None:
        """Bring a released (disabled) plugin back: a fresh load and initialize."""
        if self.released:
            self.runner.load()
            self.initialize(self.config)

    def disable(self, last_error: WiseflowError | None) -> None:
        """Keep the plugin's last health answer, then release everything it holds."""
        if not self.released and (self.runner.pid() is not None or self.meter.in_process):
            try:  # straight to the runner: a dead worker must not flip the state to ERROR
                self.last_health = self.runner.call("health", [], self.timeout_s)
            except Exception as exc:
                self.last_health = {"ok": False, "error": str(exc)}
        elif last_error is not None:
            self.last_health = {"ok": False, "error": str(last_error)}
        self.release()

    def release(self) -> None:
        """Shut the plugin down and free what it held: worker process group, scratch files,
        threads it started (warned about when they do not stop)."""
        self.released = True
        self.meter.forget_worker()
        try:
            self.runner.close()
        except Exception:
            log.exception("closing plugin %s failed", self.name)
        self.threads.reap()
