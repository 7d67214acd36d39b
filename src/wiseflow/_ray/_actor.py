"""The node side of the Ray executor: :class:`WorkerHost`, a small actor per plugin instance.

The actor runs on a Ray node and starts the plugin's confined worker there with exactly the
local start path: it holds a :class:`~wiseflow._sandbox._runner.WorkerRunner` (zygote or
fresh interpreter, rlimits, netns, Landlock, seccomp, the worker's own integrity check of the
plugin's files before it imports any of them), so the worker speaks the same wire protocol
to a runner beside it. Only the runner's operations cross the cluster, as actor method calls:
each one runs in a thread of the actor, and what it produces comes back to the host as
*events*, one per actor call:

- ``("cap", op, args)``: the worker asked for a capability; the host's broker decides and
  performs it, and :meth:`WorkerHost.answer` brings its value (or its refusal) back;
- ``("chunk", items)``: a stream's next chunk (a batch, as the worker cut it);
- ``("done", value)`` / ``("error", exc)``: the operation's end.

Every event carries the log lines the worker produced meanwhile, so that they are logged on
the host (nothing of the node reaches the host's stdout), and a *side* dict (``_relay``): a
sample of the worker as the node's OS sees it (the host cannot read a pid of another node),
the worker's behaviour telemetry frames since the last event, and, with an ``error``, the
worker's memory peaks (the figure of a memory quota). The node never holds a
credential or a network grant of its own: a :class:`RelayBroker` stands in for the broker.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections import deque
from collections.abc import Generator
from typing import Any, cast

from .._contract._errors import WiseflowError, WorkerCrashed
from ._relay import NodeMeter

__all__ = ["EVENT_WAIT", "RelayBroker", "WorkerHost"]

#: Seconds one actor call waits for the operation's next event before it returns a
#: ``("wait",)`` event (the host then asks again; its own deadline bounds the whole wait).
EVENT_WAIT = 5.0
#: Stream chunks produced ahead of the host (back-pressure: the worker's credit does the rest).
_AHEAD = 2
#: Log lines kept between two events (the oldest are dropped past it).
_MAX_LINES = 200


class _Lines(logging.Handler):
    """Collects the worker's log lines for the host (bounded)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: deque[tuple[int, str]] = deque(maxlen=_MAX_LINES)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append((record.levelno, record.getMessage()[:4000]))
        except Exception:  # a log line never breaks the worker's operation
            self.handleError(record)

    def drain(self) -> list[tuple[int, str]]:
        out = []
        while self.lines:
            out.append(self.lines.popleft())
        return out


class _Op:
    """One runner operation on the node: its thread, its events, its broker answers."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=_AHEAD)
        self.answers: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def post(self, event: tuple[Any, ...]) -> None:
        """Hand ``event`` to the host (blocks while it is _AHEAD behind; not once cancelled)."""
        while not self.cancel.is_set():
            try:
                self.events.put(event, timeout=0.5)
                return
            except queue.Full:
                continue


class RelayBroker:
    """The broker on the node: every request goes to the host's broker and waits for it.

    The request is an event of the running operation; the host answers with
    ``("ok", value)`` or ``("err", exc)``. Errors the host raised are remembered so that
    the worker runner can tell the host's own verdicts (passed on by the plugin) from the
    plugin's errors, as the host's broker does.
    """

    limiter = None

    def __init__(self) -> None:
        self.op: _Op | None = None
        self._issued: dict[tuple[str, str], WiseflowError] = {}
        self.timeout = 3600.0

    def _ask(self, name: str, *args: Any) -> Any:
        op = self.op
        if op is None:
            raise WorkerCrashed(f"a {name} request outside of any operation")
        op.post(("cap", name, list(args)))
        try:
            kind, value = op.answers.get(timeout=self.timeout)
        except queue.Empty:
            raise WorkerCrashed(f"the host did not answer a {name} request") from None
        if kind == "err":
            if isinstance(value, WiseflowError):
                self._issued[(value.code, value.message)] = value
                if len(self._issued) > 64:
                    self._issued.pop(next(iter(self._issued)))
            raise value
        return value

    def http_request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: Any
    ) -> Any:
        return self._ask("http_request", method, url, headers, body, timeout)

    def secret(self, name: str) -> str | None:
        return self._ask("secret", name)  # type: ignore[no-any-return]

    def check_read(self, path: str) -> str:
        return self._ask("check_read", path)  # type: ignore[no-any-return]

    def call_plugin(self, name: str, method: str, args: list[Any]) -> Any:
        return self._ask("call_plugin", name, method, args)

    def issued(self, err: WiseflowError) -> WiseflowError | None:
        mine = self._issued.get((err.code, err.message))
        return mine if mine is not None and type(mine) is type(err) else None


class WorkerHost:
    """One plugin instance's worker on a Ray node (wrapped with ``ray.remote`` on use).

    Operations are numbered by the host; each has its own events and answers, so that a
    late call for an operation that was left (a prefetch of a stream the host stopped)
    never takes an event of the next one.

    Args:
        spec: the instance's ``RunnerSpec`` (its paths are paths on the node).
        permissions: the host's effective grant (Landlock's read roots, ``subprocess``).
        options: the ``WorkerRunner`` keyword arguments the host chose (limits, weaker
            sandbox opt-in).
    """

    def __init__(self, spec: Any, permissions: Any, options: dict[str, Any]) -> None:
        from .._sandbox._runner import WorkerRunner

        self._lines = _Lines()
        logger = logging.getLogger(f"wiseflow.ray.plugin.{spec.instance}")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self._lines)
        self.broker = RelayBroker()
        self.runner = WorkerRunner(
            spec, self.broker, permissions=permissions, logger=logger, **options
        )
        self.broker.timeout = max(60.0, self.runner.timeout_s * 2)
        self.meter = NodeMeter()
        # the worker's telemetry frames go to the host, whose Behaviour judges them
        cast(Any, self.runner).behaviour = self.meter
        self._ops: dict[int, _Op] = {}

    # -- what the host calls ---------------------------------------------------------------

    def node(self) -> dict[str, Any]:
        """Where this actor runs: ``pid`` of the actor process, ``host`` name."""
        return {"pid": os.getpid(), "host": socket.gethostname()}

    def start(self, op_id: int, name: str, args: list[Any]) -> tuple[Any, ...]:
        """Begin ``name`` (a runner method) as operation ``op_id``; its first event."""
        for old in list(self._ops):  # one at a time: a stopped one is let finish first
            self._end(old)
        op = self._ops[op_id] = _Op()
        self.broker.op = op
        target = self._stream if name == "chunks" else self._one
        op.thread = threading.Thread(target=target, args=(op, name, args), daemon=True)
        op.thread.start()
        return self._next(op_id)

    def answer(self, op_id: int, kind: str, value: Any) -> tuple[Any, ...]:
        """The host's broker's answer to the operation's ``cap`` event; the next event."""
        op = self._ops.get(op_id)
        if op is not None:
            op.answers.put((kind, value))
        return self._next(op_id)

    def more(self, op_id: int) -> tuple[Any, ...]:
        """The operation's next event (after a ``chunk`` or a ``wait``)."""
        return self._next(op_id)

    def cancel(self, op_id: int) -> None:
        """Stop an operation the host no longer reads (a stream: its worker is told)."""
        self._end(op_id)

    def sample(self) -> dict[str, Any] | None:
        """A sample of the worker now (None when it is not running): the host's meter."""
        return self.meter.sample(self.runner.pid())

    def kill_worker(self) -> None:
        """Kill the worker's process group now (the running operation sees it die)."""
        self.runner.kill()

    def state(self) -> dict[str, Any]:
        r = self.runner
        return {
            "schema": r.config_schema(),
            "problems": list(getattr(r, "load_problems", []) or []),
            "non_idempotent": sorted(r.non_idempotent),
            "confinement": r.confinement,
            "pid": r.pid(),
        }

    # -- the operations' threads -----------------------------------------------------------

    def _end(self, op_id: int) -> None:
        op = self._ops.pop(op_id, None)
        if op is None:
            return
        op.cancel.set()
        op.answers.put(("err", WorkerCrashed("the host left this operation")))
        while True:  # unblock its thread; it closes a stream itself
            try:
                op.events.get_nowait()
            except queue.Empty:
                break
        if op.thread is not None:
            op.thread.join(timeout=30)

    def _next(self, op_id: int) -> tuple[Any, ...]:
        op = self._ops.get(op_id)
        if op is None:
            event: tuple[Any, ...] = ("error", WorkerCrashed("no such operation on the node"))
        else:
            try:
                event = op.events.get(timeout=EVENT_WAIT)
            except queue.Empty:
                event = ("wait",)
            if event[0] in ("done", "error"):
                self._ops.pop(op_id, None)
        side = self.meter.side(self.runner.pid(), peaks=event[0] == "error")
        return (*event, self._lines.drain(), side)

    def _one(self, op: _Op, name: str, args: list[Any]) -> None:
        try:
            value = getattr(self.runner, name)(*args)
        except BaseException as exc:  # every failure goes to the host, as it was raised
            op.post(("error", exc))
        else:
            op.post(("done", value))

    def _stream(self, op: _Op, name: str, args: list[Any]) -> None:
        gen = cast(Generator[list[Any], None, None], self.runner.chunks(*args))
        try:
            for items in gen:
                if op.cancel.is_set():
                    break
                op.post(("chunk", items))
                if op.cancel.is_set():
                    break
            else:
                op.post(("done", None))
        except BaseException as exc:
            op.post(("error", exc))
        finally:
            gen.close()
