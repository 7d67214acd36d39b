"""The host side of a sandboxed plugin: :class:`WorkerRunner`.

One worker process per plugin instance, never a fork of the host: forked by the zygote
or started as a fresh interpreter (``_process``), then confined by itself (``_confine``).

Every wait on the worker is a ``poll`` with a deadline (``_link``): capability requests
are served inline (a plugin calling ``ctx.plugin(dep)`` is served while its own call is in
flight, without threads, so it cannot deadlock), output lines are logged, and when the
deadline passes the whole process group is killed (WF401), whatever the worker sends; a
worker that stops reading its replies is ended by the deadline with WF401 naming the unread
replies. A stream's chunks flow under a credit window, each wait with its deadline
(``_stream``). A worker that dies is reaped at once and its death classified: WF403 for
quota deaths (SIGXCPU, the CPU hard limit, MemoryError), WF402 otherwise, with the exit
status or signal name. Anything malformed or out of turn from the worker ends it with WF406
(how a worker ends, and the verdict recorded: ``_ending``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, final

from .._contract._ceilings import output_cap, output_exceeded
from .._contract._context import CapabilityBackend
from .._contract._errors import (
    WiseflowError,
)
from .._contract._verdict import plugin_failure
from .._host._runner import RunnerSpec
from ._behaviour import Behaviour
from ._capabilities import Malformed, serve
from ._confine import Confinement
from ._ending import Ending
from ._failures import reported
from ._launch import (
    STRICT_CAPS,
    WorkerLimits,
    check_layers,
    load_message,
    make_scratch,
    start_process,
)
from ._link import MAX_BACKLOG, Link
from ._loaded import checked_loaded
from ._output import OutputPump
from ._peek import TooManyItems
from ._pipes import PipeChannel
from ._process import WorkerProcess
from ._protocol import (
    MAX_FRAME,
    Call,
    CapRequest,
    Fail,
    Init,
    Loaded,
    Message,
    Ready,
    Result,
    Setup,
    Shutdown,
    pack,
    records_only,
)
from ._spin import spin_limit
from ._stream import CREDIT_WINDOW, worker_chunks

__all__ = ["CREDIT_WINDOW", "MAX_BACKLOG", "STRICT_CAPS", "WorkerRunner"]

#: What a call waits for.
_REPLIES = (Result, Fail)


@final
class WorkerRunner(Ending):
    """Runs one plugin instance in a confined worker process (levels sandboxed, strict).

    Args:
        spec: what to run.
        broker: performs the plugin's capability requests (host side, checked).
        permissions: the effective grant (``fs_read``, ``fs_write``, ``subprocess``);
            defaults to ``broker.permissions`` when the broker has one.
        memory_mb, cpu_seconds, max_open_files: override ``spec.limits`` (the manifest's
            resources under the host's ceilings).
        allow_weaker_sandbox: run even when a confinement layer is missing (warns).
        start_timeout: seconds for the worker to start, confine itself and load.
        logger: where plugin output and log lines go
            (default ``wiseflow.plugin.<instance>``).
        use_zygote: fork the worker from this host's zygote (fast) rather than start a
            fresh interpreter; either way the worker confines itself the same way.
    """

    def __init__(
        self,
        spec: RunnerSpec,
        broker: CapabilityBackend,
        *,
        permissions: Any = None,
        memory_mb: int | None = None,
        cpu_seconds: float | None = None,
        max_open_files: int | None = None,
        max_procs: int = 64,
        max_file_mb: int = 1024,
        allow_weaker_sandbox: bool = False,
        start_timeout: float = 15.0,
        max_frame: int = MAX_FRAME,
        logger: logging.Logger | None = None,
        use_zygote: bool = True,
    ) -> None:
        self.spec = spec
        self._broker = broker
        perms = permissions if permissions is not None else getattr(broker, "permissions", None)
        lim = self.limits = WorkerLimits(
            spec,
            perms,
            memory_mb=memory_mb,
            cpu_seconds=cpu_seconds,
            max_open_files=max_open_files,
            max_procs=max_procs,
            max_file_mb=max_file_mb,
        )
        self.memory_mb, self.cpu_seconds = lim.memory_mb, lim.cpu_seconds
        self.max_open_files, self.max_procs = lim.max_open_files, lim.max_procs
        self.timeout_s = spec.limits.timeout_s
        self._limit: float | None = None  # the seconds of the current wait (for WF401)
        self._allow_exec = lim.allow_exec
        self.allow_weaker_sandbox = allow_weaker_sandbox
        self.start_timeout = start_timeout
        self._max_frame = max_frame
        self.logger = logger or logging.getLogger(f"wiseflow.plugin.{spec.instance}")
        self.confinement: Confinement | None = None
        self._lock = threading.RLock()
        self._proc: WorkerProcess | None = None
        self._tail: list[str] = []
        self._chan: PipeChannel | None = None
        self._pump: OutputPump | None = None
        self._link: Link | None = None
        self._scratch: str | None = None
        self._schema: dict[str, Any] | None = None
        self.non_idempotent: frozenset[str] = frozenset()
        self._initialized = False
        self._failure: WiseflowError | None = None
        self._next_id = 0
        self.spin = spin_limit()  # how long the host polls for a reply before sleeping
        self.use_zygote = use_zygote
        self.behaviour = Behaviour(perms)  # what the worker's audit hook reported (_monitor)

    # -- Runner protocol -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.instance

    def load(self) -> None:
        """Start the worker, check its confinement, import and validate the plugin there."""
        with self._lock:
            if self._proc is not None:
                return
            self._failure = None  # loading again restarts a stopped worker
            self._initialized = False
            self._limit = self.start_timeout
            deadline = time.monotonic() + self.start_timeout
            try:
                self._load(deadline)
            except BaseException:
                self._stop()  # idempotent: whatever was started is released
                raise

    def _load(self, deadline: float) -> None:
        """Start the worker, then import and validate the plugin inside it."""
        self._start(deadline)
        self._send(load_message(self.spec))
        msg = self._wait(0, (Loaded,), deadline, "load")
        assert isinstance(msg, Loaded)
        if msg.error is not None:
            err = plugin_failure(self._plugin_error(msg.error), self.spec.instance, "load")
            self._stop()
            self._failure = err
            raise err
        try:  # what the plugin's side built: the host reads it only in the expected shape
            self._schema, _ = checked_loaded(msg.schema, msg.problems)
        except ValueError as exc:
            self._violation(str(exc))
        self.load_problems = msg.problems or []
        # read by the retry policy (``RetryPolicy.for_method``), as a trusted plugin's class is
        self.non_idempotent = frozenset(msg.non_idempotent or ())

    def config_schema(self) -> dict[str, Any] | None:
        return self._schema

    def check_config(self, config: dict[str, Any]) -> None:
        self._init(config, check_only=True)

    def initialize(self, config: dict[str, Any]) -> None:
        self._init(config, check_only=False)
        self._initialized = True

    def call(self, method: str, args: list[Any], timeout: float | None) -> Any:
        with self._lock:
            link = self._link
            if link is None or self._failure is not None:
                self._require_alive()
                assert link is not None  # loaded: a link goes with a process
            self._next_id = rid = self._next_id + 1
            batch = records_only(args[0]) if args else None
            rest = args[1:] if batch is not None else args
            link.send(Call(id=rid, method=method, args=pack(rest), batch=batch))
            link.chan.max_result_items = output_cap(self.spec, method, args)
            self._limit = limit = self.timeout_s if timeout is None else timeout
            deadline = time.monotonic() + limit
            try:
                msg = link.wait(rid, _REPLIES, deadline, method)
            except TooManyItems as exc:  # refused before decoding: end the worker (WF403)
                if exc.kind != "result":  # a paused stream's chunk, over what workers send
                    self._violation(str(exc))
                ratio = self.spec.limits.max_output_ratio
                self.end(output_exceeded(self.name, exc.count, len(args[0]), ratio))
        if isinstance(msg, Fail):
            raise self._plugin_error(msg.error)
        assert isinstance(msg, Result)
        return msg.records if msg.records is not None else msg.value

    def stream(self, method: str, args: list[Any], timeout: float | None) -> Iterator[Any]:
        for chunk in self.chunks(method, args, timeout):
            yield from chunk

    def chunks(
        self, method: str, args: list[Any], timeout: float | None, size: int | None = None
    ) -> Iterator[list[Any]]:
        """The worker's chunks as they arrive (never empty), each list handed on as decoded
        (see ``_stream``).

        ``size`` is not used: the worker cuts its chunks itself (at most CHUNK_ITEMS).
        """
        return worker_chunks(self, method, args, timeout)

    def close(self) -> None:
        with self._lock:
            if self._proc is None:
                return
            if self._initialized and self._alive():
                try:
                    self.call("shutdown", [], min(5.0, self.timeout_s))
                except WiseflowError as exc:
                    self.logger.warning("shutdown of %s failed: %s", self.name, exc)
            self._initialized = False
            if self._alive():
                self._send(Shutdown())  # never blocks; a worker not reading is stopped below
                self._wait_exit(1.0)
            self._stop()

    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._alive() else None

    # -- starting --------------------------------------------------------------------------

    def _start(self, deadline: float) -> None:
        # one limiter for all the host logs on the plugin's behalf (output, logs, denials)
        limiter = getattr(self._broker, "limiter", None)
        self._scratch = scratch = make_scratch(self.spec)
        self._proc, self._chan, self._pump = start_process(
            self.spec, scratch, self.logger, limiter, self._max_frame, use_zygote=self.use_zygote
        )
        self._link = Link(
            self._chan,
            self._pump,
            spin=self.spin,
            timeout=self._timeout,
            died=self._died,
            violation=self._violation,
            serve=self._serve,
        )
        self._link.behaviour = self.behaviour
        self._send(Setup(policy=self.limits.policy(self.spec, scratch)))
        msg = self._wait(0, (Ready,), deadline, "start")
        assert isinstance(msg, Ready)
        self.confinement = msg.confinement
        err = check_layers(
            msg.confinement, self.name, self.logger, allow_weaker=self.allow_weaker_sandbox
        )
        if err is not None:
            self._stop()
            self._failure = err
            raise err

    # -- calls -----------------------------------------------------------------------------

    def _init(self, config: dict[str, Any], *, check_only: bool) -> None:
        with self._lock:
            self._require_alive()
            rid = self._new_id()
            self._send(Init(id=rid, config=config, check_only=check_only))
            msg = self._wait(rid, (Result, Fail), self._deadline(None), "initialize")
        if isinstance(msg, Fail):
            raise plugin_failure(self._plugin_error(msg.error), self.spec.instance, "initialize")

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _deadline(self, timeout: float | None) -> float:
        """When a wait of ``timeout`` seconds (None: the plugin's timeout_s) ends; the limit
        is kept for the WF401 message."""
        self._limit = limit = self.timeout_s if timeout is None else timeout
        return time.monotonic() + limit

    def _send(self, msg: Message) -> None:
        """Post ``msg`` to the worker; never blocks (see :class:`Link`)."""
        assert self._link is not None
        self._link.send(msg)

    def _wait(self, rid: int, kinds: tuple[type[Any], ...], deadline: float, what: str) -> Message:
        assert self._link is not None
        return self._link.wait(rid, kinds, deadline, what)

    # -- capabilities ----------------------------------------------------------------------

    def _serve(self, msg: CapRequest, deadline: float) -> None:
        """Let the broker decide and act on a well-formed request, answer the worker."""
        try:
            reply = serve(self._broker, msg, deadline, self.name)
        except Malformed as exc:
            self._violation(str(exc))
        self._send(reply)

    # -- failures --------------------------------------------------------------------------

    def _plugin_error(self, data: dict[str, Any]) -> WiseflowError:
        """An error the worker reported, in the host's words (see ``_failures``)."""
        issued = getattr(self._broker, "issued", None)
        return reported(
            data, self.spec, memory_mb=self.memory_mb, allow_exec=self._allow_exec, issued=issued
        )
