"""One handle per plugin instance: the single dispatch point for every call into it.

Callers (the pipeline, the CLI, other plugins through ``ctx.plugin``) only ever call
:meth:`PluginHandle.invoke` or :meth:`PluginHandle.stream_chunks` (and the typed calls
built on them, ``_typed_calls``). Everything the host does around a call happens here,
so callers never change:

1. route: a plugin in ERROR, or whose breaker is open, is served by its fallback when it
   has one (else WF405 / WF404 fail fast); a plugin in ERROR past its cool-down is first
   restarted in place (:class:`~wiseflow._host._resilience.Recovery`);
2. call through the :class:`~wiseflow._host._runner.Runner` (in-process or a sandboxed worker),
   retrying transient failures and worker crashes with backoff (``_resilience``);
3. meter it (``_metering``): latency, records, errors; thread CPU for trusted plugins, OS
   samples of the worker for sandboxed ones, soft limits;
4. judge it: the breaker hears successes and the failures that say something about the
   plugin's health; fatal failures (WF401/402/403/406) put the plugin in ERROR.

The success path does the least it can: one check that the plugin is ACTIVE and that its
breaker has nothing to hear (``CircuitBreaker.clean``), the call, its metering. For a
trusted plugin whose method was called before, :meth:`PluginHandle.invoke` calls that
method itself (the instance's cached bound method: no runner, no meter frame), reads the
clock twice and, for a short call with nothing due, adds its wall time to the thread CPU
figure; everything else (a method's first call, a long last call, tracemalloc tracing,
sandboxed plugins) goes through the runner and ``PluginMeter.call``. Retry policy,
routing and verdicts are consulted only when something is not as usual.

Streams (``fetch``) move as the chunks the runner already has (a worker's batches), metered
and counted per chunk. They are retried only before their first chunk: once records have
been handed on, replaying would duplicate them, and resuming belongs to the pipeline, which
restarts a source from its last stored checkpoint on the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from tracemalloc import is_tracing as _tracing
from typing import TYPE_CHECKING, Any, final

from .._contract._errors import WiseflowError, WorkerCrashed
from .._contract._instance import SCALARS
from .._contract._manifest import Manifest
from ._handle_paths import again, direct_failed, stream_chunks
from ._inprocess import InProcessRunner
from ._lifecycle import EventBus, Lifecycle, PluginState
from ._metering import CallStats, PluginMeter, ThreadLedger
from ._metering._meter import SHORT_CALL_S
from ._metering._meter import active_count as _active_count
from ._metering._meter import clock as _clock
from ._notices import Notices, describe
from ._resilience import (
    NO_RETRY,
    BreakerState,
    CircuitBreaker,
    Judge,
    Recovery,
    RetryPolicy,
    Router,
)
from ._runner import Runner
from ._typed_calls import TypedCalls

if TYPE_CHECKING:
    from .._policy._broker import Broker

__all__ = ["CallStats", "PluginHandle"]

_ACTIVE = PluginState.ACTIVE
_CLOSED = BreakerState.CLOSED


@final
class PluginHandle(TypedCalls):
    """A loaded plugin instance, as the host and other plugins see it.

    Not meant to be constructed by users: get one from ``PluginManager.get(name)``.
    """

    __slots__ = (
        "__weakref__", "_own", "breaker", "broker", "judge", "level", "lifecycle", "manifest",
        "meter", "name", "notices", "origin", "recovery", "retry", "router", "runner", "stats",
        "threads", "timeout_s",
    )  # fmt: skip

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
        self.retry = retry or NO_RETRY
        self.notices = Notices(instance, lifecycle, events)
        self.breaker = breaker
        if breaker is not None:
            breaker.on_change = self.notices.breaker_changed
        self.meter = meter or PluginMeter(in_process=level == "trusted", pid=runner.pid)
        # a trusted plugin's runner: its instance's methods are called directly (invoke)
        self._own: InProcessRunner | None = None
        if isinstance(runner, InProcessRunner) and self.meter.in_process:
            self._own = runner
        if self.meter.on_soft is None:
            self.meter.on_soft = self.notices.soft_limit
        self.broker = broker  # its redactor and log limiter serve this plugin's failures
        self.threads = ThreadLedger(instance)
        self.judge = Judge(
            name=instance,
            runner=runner,
            lifecycle=lifecycle,
            stats=self.stats,
            meter=self.meter,
            breaker=breaker,
            broker=broker,
        )
        self.recovery = Recovery(
            name=instance,
            runner=runner,
            lifecycle=lifecycle,
            meter=self.meter,
            threads=self.threads,
            stats=self.stats,
            timeout_s=timeout_s,
            recover_after_s=recover_after_s,
            failed=self._failed,
        )
        self.router: Router[PluginHandle] = Router(
            name=instance,
            lifecycle=lifecycle,
            breaker=breaker,
            recovery=self.recovery,
            judge=self.judge,
            stats=self.stats,
        )

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

    @property
    def config(self) -> dict[str, Any]:
        """The instance's config, as last given to :meth:`initialize`."""
        return self.recovery.config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self.recovery.config = value

    @property
    def events(self) -> EventBus | None:
        """The bus this plugin's events are published on (its manager's)."""
        return self.notices.events

    def __repr__(self) -> str:
        return f"<PluginHandle {self.name} ({self.plugin} {self.version}) {self.state.value}>"

    # -- the dispatch point ----------------------------------------------------------------

    def invoke(self, method: str, *args: Any) -> Any:
        """Call ``method(*args)`` on the plugin, wherever it runs, under the host's policy."""
        breaker, meter = self.breaker, self.meter
        if self.lifecycle.state is not _ACTIVE or (breaker is not None and not breaker.clean):
            return self._unusual(method, args)
        # The usual case: ACTIVE, and a success would tell the breaker nothing new. For a
        # trusted plugin whose method was called before (and whose last call was short, with
        # tracemalloc off), the method is called right here, metered as PluginMeter.call
        # would meter it: one frame between the caller and the plugin.
        own = self._own
        inst = own.instance if own is not None else None
        bound = inst.methods.get(method) if inst is not None else None
        if bound is None or meter.timed or _tracing():
            return self._usual(method, args)
        stats = self.stats
        stats.calls += 1
        mark = _active_count()
        start = _clock()
        try:
            out = bound(*args)
        except BaseException as exc:
            return direct_failed(self, method, args, exc, (start, mark), by_plugin=True)
        if out is not None and type(out) not in SCALARS:
            try:  # a list screened (WF403/WF406 are the host's), an awaitable awaited
                out = inst.settle(method, args, out, self.timeout_s)  # type: ignore[union-attr]
            except BaseException as exc:
                return direct_failed(self, method, args, exc, (start, mark), by_plugin=False)
        end = _clock()
        elapsed = end - start
        watch = meter.watch
        if (
            elapsed < SHORT_CALL_S
            and end < meter.due
            and _active_count() == mark
            and (watch is None or end < watch.check_at)
        ):
            meter.thread_cpu += elapsed  # all that PluginMeter.done does for such a call
        else:
            try:
                meter.done(start, end, -1.0, -1, mark, self.threads)
            except Exception as ceiling:  # the watch found one crossed: a failed call
                return again(self, method, args, ceiling)
        stats.latencies.append(elapsed)
        return out

    def _usual(self, method: str, args: tuple[Any, ...]) -> Any:
        """:meth:`invoke` in the usual case, through the runner (sandboxed plugins, a
        method's first call, a long last call, tracemalloc tracing)."""
        stats, meter = self.stats, self.meter
        stats.calls += 1
        try:
            out = meter.call(self.runner, method, list(args), self.timeout_s, self.threads)
        except Exception as first:  # the policy is consulted only when something failed
            return again(self, method, args, first)
        except BaseException:
            self._interrupted()
            raise
        stats.latencies.append(meter.elapsed)
        return out

    def _unusual(self, method: str, args: tuple[Any, ...]) -> Any:
        """:meth:`invoke` when the plugin is not ACTIVE or its breaker has something to
        hear: routed first (fallback, recovery, fail fast), the breaker told of a success."""
        breaker = self.breaker
        if self.lifecycle.state is not _ACTIVE or (
            breaker is not None and breaker.state_ is not _CLOSED
        ):
            fb = self.router.route(method)
            if fb is not None:
                return self.router.nested(lambda: fb.invoke(method, *args))
        out = self._usual(method, args)
        if breaker is not None:
            breaker.success()
        return out

    def _once(self, method: str, args: tuple[Any, ...]) -> Any:
        return self.meter.call(self.runner, method, list(args), self.timeout_s, self.threads)

    def _interrupted(self) -> None:
        """A call interrupted (KeyboardInterrupt...): no verdict, no half-open trial left
        hanging."""
        self.stats.latencies.append(self.meter.elapsed)
        if self.breaker is not None:
            self.breaker.release()

    def stream_chunks(
        self, method: str, *args: Any, size: int | None = None
    ) -> Iterator[list[Any]]:
        """What ``method(*args)`` yields, as the runner's chunks (lists, in order).

        Metered and counted per chunk; retried (transient failure, worker crash) only
        before the first chunk. ``size``: see :meth:`Runner.chunks`.
        """
        return stream_chunks(self, method, args, size)

    def stream(self, method: str, *args: Any) -> Iterator[Any]:
        """:meth:`stream_chunks` item by item (for callers that want single items)."""
        for chunk in self.stream_chunks(method, *args):
            yield from chunk

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

    # -- failures --------------------------------------------------------------------------

    def _policy(self, method: str) -> RetryPolicy:
        return self.retry.for_method(method, self.runner) if self.retry.attempts > 1 else NO_RETRY

    def _before_retry(self, exc: BaseException) -> None:
        self.stats.retries += 1
        if isinstance(exc, WorkerCrashed):
            self.recovery.restart_worker()

    def _failed(self, exc: BaseException, method: str, args: tuple[Any, ...] = ()) -> WiseflowError:
        return self.judge.failed(exc, method, args)

    @property
    def fallback(self) -> PluginHandle | None:
        """The handle that serves while this plugin is unwell (the manifest's fallback)."""
        return self.router.fallback

    @fallback.setter
    def fallback(self, fb: PluginHandle | None) -> None:
        self.router.fallback = fb

    @property
    def last_error(self) -> WiseflowError | None:
        """The last failure of this plugin, as the host reported it."""
        return self.judge.last_error

    @last_error.setter
    def last_error(self, err: WiseflowError | None) -> None:
        self.judge.last_error = err

    @property
    def log_dropped(self) -> int:
        """Log lines of this plugin (output, log calls, denials) dropped by the rate limit."""
        return self.broker.limiter.dropped_total if self.broker is not None else 0

    # -- lifecycle (the Recovery collaborator does the work) --------------------------------

    def initialize(self, config: dict[str, Any]) -> None:
        """Initialize the plugin with ``config`` (threads it starts are remembered)."""
        self.recovery.initialize(config)

    def recover(self, reason: str = "re-enabled") -> None:
        """ERROR → UNLOADED → LOADED → INITIALIZED → ACTIVE, in place, with fresh code.

        The same handle serves on, so a running pipeline holding it sees the plugin back.
        """
        self.recovery.recover(reason)

    def resume(self) -> None:
        """Bring a released (disabled) plugin back: a fresh load and initialize."""
        self.recovery.resume()

    def disable(self) -> None:
        """Keep the plugin's last health answer, then release everything it holds."""
        self.recovery.disable(self.last_error)

    def release(self) -> None:
        """Shut the plugin down and free what it held (process group, scratch, threads)."""
        self.recovery.release()

    def describe(self, *, sample: bool = False) -> dict[str, Any]:
        """State and figures for ``plugins list``, ``top``, ``run --json`` and Prometheus.

        ``sample`` reads the worker from the OS now (fuller: USS, children).
        """
        return describe(self, sample=sample)
