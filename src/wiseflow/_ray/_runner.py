"""The host side of the Ray executor: :class:`RayRunner`, the host's runner seam over an actor.

The host stays the driver: it keeps the handle, the policy (retries, breakers, dead
letters), the broker and the store. :class:`RayRunner` starts one
:class:`~wiseflow._ray._actor.WorkerHost` actor per plugin instance and drives each runner
operation through it (see ``_actor`` for the events). A capability request that the worker
makes on the node comes back here and is decided and performed by this host's broker, then
answered; a batch travels as one actor call's argument, a stream's chunks one per call.

Every wait has a deadline: the operation's own (``timeout_s``, enforced on the node by the
worker runner) plus :data:`MARGIN` for the relay. An actor or node that dies, or a relay
that misses its deadline, ends the actor: the operation fails with WF402 (WF401 for a missed
deadline), and the next ``load`` starts a new actor, as a local worker is restarted.

The worker's figures and behaviour come from its node (``_relay``): every event brings a
sample and the telemetry frames, validated here; :meth:`RayRunner.remote_sample` is what the
host's meter reads (it asks the node itself, with a short deadline, when the last sample is
older than :data:`FRESH_S`), :attr:`RayRunner.behaviour` the summary the run reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, final

from .._contract._context import CapabilityBackend
from .._contract._errors import PluginError, PluginTimeout, WiseflowError, WorkerCrashed
from .._host._metering import ProcessSample
from .._host._runner import RunnerSpec
from .._sandbox._behaviour import Behaviour
from .._sandbox._failures import not_running
from .._sandbox._launch import WorkerLimits
from ._relay import read_peaks, read_sample, read_telemetry

__all__ = ["FRESH_S", "MARGIN", "SAMPLE_WAIT", "RayRunner"]

#: Seconds added to an operation's deadline for the relay (actor calls, object transfer).
MARGIN = 30.0
#: A sample younger than this is used as it is; an older one is asked for again.
FRESH_S = 1.0
#: Seconds the host waits for a sample it asked for (the previous one is kept past it).
SAMPLE_WAIT = 2.0
#: The broker operations a node may ask for (anything else is a protocol violation).
_CAPS = frozenset({"http_request", "secret", "check_read", "call_plugin"})


@final
class RayRunner:
    """Runs one plugin instance's confined worker on a Ray node.

    Args:
        spec: what to run (its paths must be valid on the node: a shared path here).
        broker: the host's broker; it decides every capability request.
        options: the ``WorkerRunner`` keyword arguments (limits, ``allow_weaker_sandbox``).
        start_timeout: seconds for the actor and the worker to start and load.
    """

    def __init__(
        self,
        spec: RunnerSpec,
        broker: CapabilityBackend,
        *,
        start_timeout: float = 60.0,
        logger: logging.Logger | None = None,
        **options: Any,
    ) -> None:
        self.spec = spec
        self._broker = broker
        self._perms = getattr(broker, "permissions", None)
        self._options = options
        lim = WorkerLimits(
            spec,
            self._perms,
            memory_mb=options.get("memory_mb"),
            cpu_seconds=options.get("cpu_seconds"),
            max_open_files=options.get("max_open_files"),
            max_procs=options.get("max_procs", 64),
            max_file_mb=options.get("max_file_mb", 1024),
        )
        self.memory_mb, self.cpu_seconds = lim.memory_mb, lim.cpu_seconds
        self.max_open_files = lim.max_open_files
        self.timeout_s = spec.limits.timeout_s
        self.start_timeout = start_timeout
        self.logger = logger or logging.getLogger(f"wiseflow.plugin.{spec.instance}")
        self.confinement: Any = None
        self.load_problems: list[Any] = []
        self.non_idempotent: frozenset[str] = frozenset()
        self._schema: dict[str, Any] | None = None
        self._actor: Any = None
        self._lock = threading.RLock()
        self._failure: WiseflowError | None = None
        self._worker_pid: int | None = None
        self._ops = 0  # operations are numbered: the node keeps each one's events apart
        self.behaviour = Behaviour(self._perms)  # the worker's telemetry, relayed by its node
        self._sample: ProcessSample | None = None  # the worker's last valid sample (_relay)
        self._sampled_at = -FRESH_S
        self._peaks: dict[str, float] = {}  # memory peaks sent with the last error
        self.refused = {"samples": 0, "telemetry": 0}  # implausible figures, bad frames

    @property
    def name(self) -> str:
        return self.spec.instance

    # -- Runner protocol -------------------------------------------------------------------

    def load(self) -> None:
        with self._lock:
            if self._actor is not None:
                return
            self._failure = None
            deadline = time.monotonic() + self.start_timeout
            self._actor = self._new_actor()
            try:
                self._run("load", [], deadline)
                state = self._get(self._actor.state.remote(), deadline, "load")
            except BaseException:
                self._drop()
                raise
            self._schema = state["schema"]
            self.load_problems = state["problems"]
            self.non_idempotent = frozenset(state["non_idempotent"])
            self.confinement = state["confinement"]
            self._worker_pid = state["pid"]

    def config_schema(self) -> dict[str, Any] | None:
        return self._schema

    def check_config(self, config: dict[str, Any]) -> None:
        self._run("check_config", [config], self._deadline(None))

    def initialize(self, config: dict[str, Any]) -> None:
        self._run("initialize", [config], self._deadline(None))

    def call(self, method: str, args: list[Any], timeout: float | None) -> Any:
        return self._run("call", [method, args, timeout], self._deadline(timeout))

    def stream(self, method: str, args: list[Any], timeout: float | None) -> Iterator[Any]:
        for chunk in self.chunks(method, args, timeout):
            yield from chunk

    def chunks(
        self, method: str, args: list[Any], timeout: float | None, size: int | None = None
    ) -> Iterator[list[Any]]:
        """The worker's chunks as the node relays them (``size`` unused, as for a worker)."""
        with self._lock:
            actor = self._require()
            op = self._new_op()
            ref = actor.start.remote(op, "chunks", [method, args, timeout])
        finished = False
        try:
            while True:
                with self._lock:
                    event = self._drive(op, ref, self._deadline(timeout), method)
                    if event[0] == "done":
                        finished = True
                        return
                    # asked before the chunk is handed on: the node fetches the next one
                    # while the host works on this one (its worker's credit still bounds it)
                    ref = self._require().more.remote(op)
                yield event[1]
        finally:
            if not finished:
                self._cancel(op)

    def close(self) -> None:
        with self._lock:
            if self._actor is None:
                return
            try:
                if self._failure is None:
                    self._run("close", [], time.monotonic() + 15.0)
            except WiseflowError as exc:
                self.logger.warning("shutdown of %s on Ray failed: %s", self.name, exc)
            finally:
                self._drop()

    def pid(self) -> int | None:
        """None: the worker runs on a Ray node; its pid means nothing on the host (its
        figures come through :meth:`remote_sample`)."""
        return None

    def remote_sample(self, full: bool = False) -> ProcessSample | None:
        """The worker's figures as its node measured them (None: not running or never
        sampled); the host's meter calls this where it would read a local pid. A sample
        older than :data:`FRESH_S` is asked for again, for at most :data:`SAMPLE_WAIT` s
        (the node samples in full every time: ``full`` is for the local sampler)."""
        actor = self._actor
        if actor is None or self._failure is not None:
            return None
        if time.monotonic() - self._sampled_at >= FRESH_S:
            import ray

            try:
                raw = ray.get(actor.sample.remote(), timeout=SAMPLE_WAIT)
            except Exception as exc:  # a busy or lost node: its operation's own deadline acts
                self.logger.debug("sample of %s on Ray: %s", self.name, type(exc).__name__)
            else:
                self._keep_sample(raw)
        return self._sample

    def remote_peaks(self) -> dict[str, float]:
        """The worker's memory peaks (MB) the node sent with the last error (for WF403)."""
        return dict(self._peaks)

    # -- for tests and operators -----------------------------------------------------------

    def node(self) -> dict[str, Any]:
        """Where the actor runs (``pid``, ``host``) and the worker's pid on that node."""
        with self._lock:
            actor = self._require()
            info: dict[str, Any] = self._get(actor.node.remote(), self._deadline(10.0), "node")
        return {**info, "worker_pid": self._worker_pid}

    def kill(self) -> None:
        """Kill the worker on its node now, from any thread (its operation fails WF402)."""
        actor = self._actor
        if actor is not None:
            actor.kill_worker.remote()

    def end(self, err: WiseflowError) -> Any:
        """Stop the actor and its worker for a host verdict; this and later calls fail."""
        with self._lock:
            self._drop()
            self._failure = err
        raise err

    # -- the relay -------------------------------------------------------------------------

    def _new_actor(self) -> Any:
        import ray

        from ._actor import WorkerHost

        cpus = self.spec.manifest.resources.ray_num_cpus  # [plugin.resources], 0 by default
        cls = ray.remote(WorkerHost).options(
            num_cpus=cpus, max_concurrency=4, max_restarts=0, name=None
        )
        return cls.remote(self.spec, self._perms, self._options)

    def _new_op(self) -> int:
        self._ops += 1
        return self._ops

    def _cancel(self, op: int) -> None:
        """The node stops operation ``op`` (a stream the host left), before the next starts."""
        with self._lock:
            actor = self._actor
            if actor is None or self._failure is not None:
                return
            try:
                self._get(actor.cancel.remote(op), time.monotonic(), "stop a stream")
            except WiseflowError as exc:  # the actor is gone: the next load starts another
                self.logger.warning("stopping a stream of %s on Ray: %s", self.name, exc)

    def _run(self, name: str, args: list[Any], deadline: float) -> Any:
        with self._lock:
            actor = self._require()
            op = self._new_op()
            event = self._drive(op, actor.start.remote(op, name, args), deadline, name)
        return event[1]

    def _drive(self, op: int, ref: Any, deadline: float, what: str) -> tuple[Any, ...]:
        """Serve the operation's events until it ends or yields a chunk; that event."""
        while True:
            event: tuple[Any, ...] = self._get(ref, deadline, what)
            for level, line in event[-2]:
                self.logger.log(level, "%s", line)
            self._take(event[-1])
            kind = event[0]
            if kind in ("done", "chunk"):
                return event
            if kind == "error":
                exc = event[1]
                if not isinstance(exc, BaseException):
                    self._lost(f"the node sent a malformed error for {what}")
                if isinstance(exc, WorkerCrashed | PluginTimeout):
                    self._worker_pid = None
                raise exc
            actor = self._require()
            if kind == "wait":
                ref = actor.more.remote(op)
            elif kind == "cap" and event[1] in _CAPS and isinstance(event[2], list):
                ref = actor.answer.remote(op, *self._serve(event[1], event[2]))
            else:
                self._lost(f"the node sent an unknown event {str(kind)[:40]!r} during {what}")

    def _take(self, side: Any) -> None:
        """Keep what an event brought besides the operation: sample, telemetry, peaks."""
        if not isinstance(side, dict):
            self.refused["samples"] += 1
            return
        self._keep_sample(side.get("sample"))
        self._peaks = read_peaks(side.get("peaks"))
        frames, refused = read_telemetry(side.get("telemetry"))
        for frame in frames:
            self.behaviour.add(frame)
        self.refused["telemetry"] += refused

    def _keep_sample(self, raw: Any) -> None:
        self._sampled_at = time.monotonic()
        if raw is None:  # the worker is not running on the node
            self._sample = None
            return
        got = read_sample(raw)
        if got is None:  # implausible: the previous figures stay
            self.refused["samples"] += 1
            if self.refused["samples"] == 1:
                self.logger.warning("the Ray node of %s sent implausible figures", self.name)
        else:
            self._sample = got

    def _serve(self, op: str, args: list[Any]) -> tuple[str, Any]:
        """The host's broker decides and performs a request of the worker on the node."""
        try:
            return "ok", getattr(self._broker, op)(*args)
        except WiseflowError as exc:
            return "err", exc
        except Exception as exc:
            return "err", PluginError(f"capability {op} failed: {type(exc).__name__}: {exc}")

    def _get(self, ref: Any, deadline: float, what: str) -> Any:
        import ray
        from ray.exceptions import GetTimeoutError, RayError

        left = deadline + MARGIN - time.monotonic()
        try:
            return ray.get(ref, timeout=max(0.01, left))
        except GetTimeoutError:
            self._drop()
            err: WiseflowError = PluginTimeout(
                f"plugin '{self.name}' on Ray did not answer {what} in time",
                plugin=self.name,
                hint="raise resources.timeout_s, or check the Ray node (`ray status`)",
            )
        except RayError as exc:
            self._lost(f"its Ray actor or node was lost during {what} ({type(exc).__name__})")
        self._failure = err
        raise err

    def _lost(self, why: str) -> Any:
        self._drop()
        self._failure = err = WorkerCrashed(
            f"the worker of plugin '{self.name}' crashed: {why}",
            plugin=self.name,
            hint="the host restarts it on the next load; see the Ray node's logs",
        )
        raise err

    def _require(self) -> Any:
        if self._failure is not None:
            raise not_running(self.name, self._failure)
        if self._actor is None:
            raise PluginError(f"plugin '{self.name}' is not loaded", plugin=self.name)
        return self._actor

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.timeout_s if timeout is None else timeout)

    def _drop(self) -> None:
        """Kill the actor (its worker dies with it: the worker's parent-death signal)."""
        actor, self._actor = self._actor, None
        self._worker_pid = None
        self._sample = None
        if actor is not None:
            import ray

            try:
                ray.kill(actor, no_restart=True)
            except Exception as exc:  # already gone: nothing to release
                self.logger.debug("ray.kill of %s: %s", self.name, exc)
