"""One handle per plugin instance: the single dispatch point for every call into it.

Callers (the pipeline, the CLI, other plugins through ``ctx.plugin``) only ever call
:meth:`PluginHandle.invoke` or :meth:`PluginHandle.stream`. Everything the host does around
a call happens here, so callers never change:

1. route: a plugin in ERROR, or whose breaker is open, is served by its fallback when it
   has one (else WF405 / WF404 fail fast); a plugin in ERROR past its cool-down is first
   restarted in place;
2. call through the :class:`~wiseflow._runner.Runner` (in-process or a sandboxed worker),
   retrying transient failures and worker crashes with backoff (``_resilience``);
3. meter it (``_metering``): latency, records, errors; thread CPU for trusted plugins, OS
   samples of the worker for sandboxed ones, soft limits;
4. judge it: the breaker hears successes and the failures that say something about the
   plugin's health; fatal failures (WF401/402/403/406) put the plugin in ERROR.

Streams (``fetch``) are retried only before their first item: once records have been
handed on, replaying would duplicate them, and resuming belongs to the pipeline, which
restarts a source from its last stored checkpoint on the next run.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, final

from ._errors import (
    CircuitOpen,
    InvalidTransition,
    PluginError,
    QuotaExceeded,
    SkipRecord,
    WiseflowError,
    WiseflowWarning,
    WorkerCrashed,
)
from ._lifecycle import EventBus, Lifecycle, PluginEvent, PluginState
from ._manifest import Manifest
from ._metering import CallStats, PluginMeter, ThreadLedger, quota_figure, soft_limit_reason
from ._plugin import Figure
from ._record import Checkpoint, Record
from ._resilience import (
    FATAL_CODES,
    BreakerState,
    CircuitBreaker,
    Recovery,
    RetryPolicy,
    counts_against_breaker,
    is_non_idempotent,
)
from ._runner import Runner
from ._verdict import plugin_failure

if TYPE_CHECKING:
    from ._broker import Broker

__all__ = ["CallStats", "PluginHandle"]

log = logging.getLogger("wiseflow.handle")

#: Methods callable per state (anything else is refused with WF405).
_CALLABLE_WHEN: dict[str, frozenset[PluginState]] = {
    "health": frozenset({PluginState.INITIALIZED, PluginState.ACTIVE, PluginState.DISABLED}),
}
_ACTIVE_ONLY = frozenset({PluginState.ACTIVE})
_FATAL_CODES = FATAL_CODES
_NO_RETRY = RetryPolicy(attempts=1)
_depth = threading.local()  # fallback chains: refuse to go round in circles


@final
class PluginHandle(Recovery):
    """A loaded plugin instance, as the host and other plugins see it.

    Not meant to be constructed by users: get one from ``PluginManager.get(name)``.
    """

    def __init__(
        self,
        *,
        instance: str,
        manifest: Manifest,
        origin: str,
        level: str,
        runner: Runner,
        lifecycle: Lifecycle,
        timeout_s: float | None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        meter: PluginMeter | None = None,
        events: EventBus | None = None,
        recover_after_s: float | None = None,
        broker: Broker | None = None,
    ) -> None:
        self.name = instance
        self.manifest = manifest
        self.origin = origin
        self.level = level
        self.runner = runner
        self.lifecycle = lifecycle
        self.timeout_s = timeout_s
        self.stats = CallStats()
        self.last_error: WiseflowError | None = None
        self.config: dict[str, Any] = {}
        self.retry = retry or _NO_RETRY
        self.events = events
        self.breaker = breaker
        if breaker is not None:
            breaker.on_change = self._breaker_changed
        self.meter = meter or PluginMeter(in_process=level == "trusted", pid=runner.pid)
        if self.meter.on_soft is None:
            self.meter.on_soft = self._soft_limit
        self.recover_after_s = recover_after_s
        self.broker = broker  # its redactor and log limiter serve this plugin's failures
        self.fallback: PluginHandle | None = None
        self._error_at = 0.0
        self._recovering = threading.Lock()
        self.threads = ThreadLedger(instance)
        self._released = False
        self._last_health: dict[str, Any] = {"ok": True}
        lifecycle.on(PluginState.ERROR, self._entered_error)

    # -- identity --------------------------------------------------------------------------

    @property
    def plugin(self) -> str:
        return self.manifest.name

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def state(self) -> PluginState:
        return self.lifecycle.state

    def __repr__(self) -> str:
        return f"<PluginHandle {self.name} ({self.plugin} {self.version}) {self.state.value}>"

    # -- routing ---------------------------------------------------------------------------

    def _check_state(self, method: str) -> None:
        allowed = _CALLABLE_WHEN.get(method, _ACTIVE_ONLY)
        if self.state not in allowed:
            states = ", ".join(sorted(s.value for s in allowed))
            why = ""
            if self.state is PluginState.ERROR and self.last_error is not None:
                why = f" (after {self.last_error.code}: {self.last_error.message})"
            raise InvalidTransition(
                f"cannot call {method}() on plugin '{self.name}' in state {self.state.value}{why}",
                plugin=self.name,
                hint=f"{method}() needs state {states}; use `wiseflow plugins enable`",
            )

    def _route(self, method: str) -> PluginHandle | None:
        """The handle that should serve ``method`` now: None for this one."""
        self._maybe_recover()
        fb = self.fallback
        usable = fb if fb is not None and fb.state is PluginState.ACTIVE else None
        if self.state is PluginState.ERROR and usable is not None:
            return usable
        self._check_state(method)
        if self.breaker is None or method == "health" or self.breaker.allow():
            return None
        if usable is not None:
            return usable
        raise CircuitOpen(
            f"plugin '{self.name}' failed repeatedly ({self.breaker.reason}); calls fail "
            f"fast for another {self.breaker.retry_in():.1f}s",
            plugin=self.name,
        )

    def _via_fallback(self, fb: PluginHandle) -> None:
        depth = getattr(_depth, "n", 0)
        if depth >= 4:
            raise CircuitOpen(
                f"plugin '{self.name}' and its fallbacks are all failing", plugin=self.name
            )
        self.stats.fallback_calls += 1

    # -- the dispatch point ----------------------------------------------------------------

    def invoke(self, method: str, *args: Any) -> Any:
        """Call ``method(*args)`` on the plugin, wherever it runs, under the host's policy."""
        fb = self._route(method)
        if fb is not None:
            self._via_fallback(fb)
            _depth.n = getattr(_depth, "n", 0) + 1
            try:
                return fb.invoke(method, *args)
            finally:
                _depth.n -= 1
        self.stats.calls += 1
        start = time.perf_counter()
        try:
            try:
                out = self._once(method, args)
            except Exception as first:  # the policy is consulted only when something failed
                policy = self._policy(method)
                if policy.attempts <= 1 or not policy.should_retry(first, method):
                    raise
                policy.sleep(policy.delay(1, first))
                self._before_retry(first)
                for attempt in policy.retrying(method, self._before_retry, done=1):
                    with attempt:
                        out = self._once(method, args)
        except Exception as exc:
            raise self._failed(exc, method, args) from exc
        except BaseException:  # interrupted: no verdict, and no half-open trial left hanging
            if self.breaker is not None:
                self.breaker.release()
            raise
        finally:
            self.stats.latencies.append(time.perf_counter() - start)
        if self.breaker is not None:
            self.breaker.success()
        return out

    def _once(self, method: str, args: tuple[Any, ...]) -> Any:
        meter = self.meter
        token = meter.begin() if meter.in_process else None
        mark = self.threads.mark() if token is not None else 0
        try:
            return self.runner.call(method, list(args), self.timeout_s)
        finally:
            if token is not None:
                meter.end(token)
                self.threads.adopt_since(mark)
            meter.maybe_sample()

    def stream(self, method: str, *args: Any) -> Iterator[Any]:
        """Iterate what ``method(*args)`` yields (``fetch``), with the same policy.

        Retried (transient failure, worker crash) only before the first item.
        """
        fb = self._route(method)
        if fb is not None:
            self._via_fallback(fb)
            yield from fb.stream(method, *args)
            return
        self.stats.calls += 1
        start = time.perf_counter()
        policy = self._policy(method)
        attempt = 1
        try:
            while True:
                yielded = False
                try:
                    for item in self._items(method, args):
                        yielded = True
                        self.stats.records_out += 1
                        yield item
                    break
                except GeneratorExit:
                    raise
                except Exception as exc:
                    if yielded or attempt >= policy.attempts:
                        raise
                    if not policy.should_retry(exc, method):
                        raise
                    policy.sleep(policy.delay(attempt, exc))
                    self._before_retry(exc)
                    attempt += 1
        except GeneratorExit:
            if self.breaker is not None:
                self.breaker.release()
            raise
        except Exception as exc:
            raise self._failed(exc, method, args) from exc
        finally:
            self.stats.latencies.append(time.perf_counter() - start)
        if self.breaker is not None:
            self.breaker.success()

    def _items(self, method: str, args: tuple[Any, ...]) -> Iterator[Any]:
        meter = self.meter
        it = self.runner.stream(method, list(args), self.timeout_s)
        try:
            while True:
                token = meter.begin() if meter.in_process else None
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    if token is not None:
                        meter.end(token)
                    meter.maybe_sample()
                yield item
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        """Shut the plugin down and release what it holds (→ UNLOADED); safe to repeat.

        For a handle made without a manager (a local stage); a manager's handles are
        stopped through the manager.
        """
        if self.state in (PluginState.UNLOADED, PluginState.UNINSTALLED):
            return
        self.release()
        if self.lifecycle.can(PluginState.UNLOADED):
            self.lifecycle.transition(PluginState.UNLOADED, "closed")

    # -- policy ----------------------------------------------------------------------------

    def _policy(self, method: str) -> RetryPolicy:
        if self.retry.attempts <= 1:
            return _NO_RETRY
        declared = getattr(self.runner, "non_idempotent", None)  # a worker may report them
        if isinstance(declared, set | frozenset) and method in declared:
            return _NO_RETRY
        if is_non_idempotent(self._plugin_class(), method):
            return _NO_RETRY
        return self.retry

    def _plugin_class(self) -> type[Any] | None:
        spec = getattr(self.runner, "spec", None)
        cls = getattr(self.runner, "_cls", None) or getattr(spec, "plugin_class", None)
        return cls if isinstance(cls, type) else None

    def _before_retry(self, exc: BaseException) -> None:
        self.stats.retries += 1
        if isinstance(exc, WorkerCrashed):
            self._restart_worker()

    def _restart_worker(self) -> None:
        """Replace a crashed worker by a fresh one with the same config."""
        self.stats.restarts += 1
        self.meter.forget_worker()
        self.runner.close()
        self.runner.load()
        self.runner.initialize(self.config)
        log.warning("plugin %s: worker restarted (restart %d)", self.name, self.stats.restarts)

    @property
    def log_dropped(self) -> int:
        """Log lines of this plugin (output, log calls, denials) dropped by the rate limit."""
        return self.broker.limiter.dropped_total if self.broker is not None else 0

    def _failed(self, exc: BaseException, method: str, args: tuple[Any, ...] = ()) -> WiseflowError:
        self.stats.errors += 1
        # The host's verdict: whatever the exception claims, a failure of this plugin.
        err = plugin_failure(exc, self.name, method)
        if self.broker is not None:
            self.broker.redactor.error(err)
        if isinstance(err, QuotaExceeded) and "reached" not in err.message:
            figure = quota_figure(err.message, self.runner.pid(), self.runner, self.meter)
            if figure:
                err.message = f"{err.message}; {figure}"
                err.args = (err.message,)
        self.stats.error_codes[err.code] = self.stats.error_codes.get(err.code, 0) + 1
        self.last_error = err
        self._log_failure(err, method)
        fatal = err.code in _FATAL_CODES
        if self.breaker is not None:
            if fatal:
                self.breaker.trip(f"{err.code}: {err.message}")
            elif counts_against_breaker(err, args):
                self.breaker.failure(f"{err.code}: {err.message}")
            else:
                self.breaker.release()
        if fatal and self.lifecycle.can(PluginState.ERROR):
            self.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
        return err

    def _log_failure(self, err: WiseflowError, method: str) -> None:
        """One JSON log record per failure (traceback included), at the plugin's log rate.

        INFO: ``wiseflow.log`` keeps it; the terminal shows it with ``--debug`` only (the
        run's summary lists the failures).
        """
        if self.broker is not None and not self.broker.limiter.allow():
            return
        fields = {"plugin": self.name, "method": method, "code": err.code}
        if err.traceback:
            fields["traceback"] = err.traceback
        log.info(
            "plugin %s: %s() failed: %s: %s",
            self.name,
            method,
            err.code,
            err.message,
            extra={"fields": fields},
        )

    # -- events ----------------------------------------------------------------------------

    def _publish(self, event: str, reason: str) -> None:
        if self.events is not None:
            state = self.state
            self.events.publish(
                PluginEvent(plugin=self.name, old=state, new=state, reason=reason, event=event)
            )

    def _breaker_changed(self, old: BreakerState, new: BreakerState, reason: str) -> None:
        log.warning("plugin %s: breaker %s → %s (%s)", self.name, old.value, new.value, reason)
        self._publish(f"breaker-{new.value}", reason)

    def _soft_limit(self, resource: str, value: float, soft: float, hard: float | None) -> None:
        reason = soft_limit_reason(resource, value, soft, hard)
        self._publish("quota-soft", reason)
        warnings.warn(WiseflowWarning(f"plugin '{self.name}': {reason}"), stacklevel=2)

    # -- typed conveniences (all through the dispatch point) --------------------------------

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint | SkipRecord]:
        """What the connector yields: records, checkpoints and the items it refused."""
        return self.stream("fetch", state)

    def check(self) -> None:
        self.invoke("check")

    def process(self, batch: list[Record]) -> list[Record]:
        self.stats.records_in += len(batch)
        out = self.invoke("process", batch)
        if not isinstance(out, list) or not all(type(r) is Record for r in out):
            got = (
                type(out).__name__
                if not isinstance(out, list)
                else "a list holding "
                + ", ".join(sorted({type(r).__name__ for r in out if type(r) is not Record}))
            )
            raise PluginError(
                f"process() of plugin '{self.name}' returned {got}, not a list of Record",
                plugin=self.name,
                hint="return the batch as list[Record] (drop records by leaving them out)",
            )
        self.stats.records_out += len(out)
        return out

    def analyze(self, batch: list[Record]) -> None:
        self.stats.records_in += len(batch)
        self.invoke("analyze", batch)

    def result(self) -> dict[str, Any]:
        out = self.invoke("result")
        if not isinstance(out, dict):
            raise PluginError(
                f"result() of plugin '{self.name}' returned {type(out).__name__}, not a dict",
                plugin=self.name,
                hint="return a JSON-compatible dict from result()",
            )
        return out

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        out: list[Figure | str] = self.invoke("render", result)
        return out

    def health(self) -> dict[str, Any]:
        """The plugin's health; while DISABLED (released), its last answer before that."""
        if self._released and self.state is PluginState.DISABLED:
            return dict(self._last_health)
        out: dict[str, Any] = self.invoke("health")
        return out

    def describe(self, *, sample: bool = False) -> dict[str, Any]:
        """State and figures for ``plugins list``, ``top``, ``run --json`` and Prometheus.

        ``sample`` reads the worker from the OS now (fuller: USS, children).
        """
        if sample and not self.meter.in_process:
            self.meter.sample(full=True)
        return {
            "name": self.name,
            "plugin": self.plugin,
            "version": self.version,
            "kind": self.kind,
            "origin": self.origin,
            "level": self.level,
            "state": self.state.value,
            "pid": self.runner.pid(),
            **self.stats.to_dict(),
            "breaker": self.breaker.to_dict() if self.breaker else {"state": "closed"},
            "fallback": self.fallback.name if self.fallback is not None else None,
            "log_dropped": self.log_dropped,
            "resources": self.meter.to_dict(),
        }
