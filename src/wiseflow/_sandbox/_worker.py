"""The worker process: confine itself, then load and serve one plugin over the channel.

Started by the host as ``python -I -m wiseflow._sandbox._worker FD HOST_PID`` with a clean
environment and only the channel's fd open. It imports the plugin contract and the
protocol, never the manager. Order: read :class:`Setup`, apply every confinement layer,
report them in :class:`Ready`, and only then import plugin code.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec

from .._context import HttpResponse, PluginContext
from .._errors import InterfaceError, PluginError, ProtocolViolation, error_from_dict
from .._record import Checkpoint, Record, bad_output, record_problem, refused
from ._confine import confine
from ._protocol import (
    SPIN,
    Call,
    Cancel,
    CapReply,
    CapRequest,
    Channel,
    Chunk,
    Credit,
    End,
    Fail,
    Init,
    Load,
    Loaded,
    Log,
    Message,
    Ready,
    Result,
    Setup,
    Shutdown,
    error_dict,
    pack,
    records_only,
)

__all__ = ["main"]

#: Items per stream chunk, and the longest a partial chunk waits before it is sent.
CHUNK_ITEMS = 500
CHUNK_SECONDS = 0.02


class _IpcBackend:
    """The plugin's CapabilityBackend: every request goes to the host and waits for it."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._next = 0

    def _request(self, op: str, args: list[Any]) -> Any:
        w = self._worker
        with w.ids_lock:
            self._next += 1
            rid = self._next
        w.send(CapRequest(id=rid, op=op, args=pack(args)))
        reply = w.await_reply(rid)
        if reply.error is not None:
            raise error_from_dict(reply.error)
        return reply.value

    def http_request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float | None,
    ) -> HttpResponse:
        v = self._request("http", [method, url, headers, body, timeout])
        return HttpResponse(int(v["status"]), dict(v["headers"]), bytes(v["content"]), v["url"])

    def secret(self, name: str) -> str | None:
        value = self._request("secret", [name])
        return None if value is None else str(value)

    def check_read(self, path: str) -> str:
        return str(self._request("check_read", [path]))

    def call_plugin(self, name: str, method: str, args: list[Any]) -> Any:
        return self._request("call_plugin", [name, method, args])


class _LogHandler(logging.Handler):
    def __init__(self, worker: _Worker) -> None:
        super().__init__()
        self._worker = worker

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._worker.send(Log(level=record.levelno, message=self.format(record)[:4000]))
        except Exception:
            pass


class _Worker:
    def __init__(self, chan: Channel, memory_mb: int) -> None:
        self.chan = chan
        self.memory_mb = memory_mb
        self.inbox: deque[Message] = deque()
        self._send_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._cond = threading.Condition()
        self._replies: dict[int, CapReply] = {}
        self.ids_lock = threading.Lock()
        self.name: str | None = None
        self.cls: Any = None
        self.invalid = False  # loaded for `check` although its interface is broken
        self.plugin: Any = None
        self.load_msg: Load | None = None
        self._loop: Any = None  # an asyncio loop, made (and asyncio imported) on first need

    # -- channel ---------------------------------------------------------------------------

    def send(self, msg: Message) -> None:
        with self._send_lock:
            self.chan.send(msg)

    def receive(self, *, block: bool = True) -> Message | None:
        """The next message for the serving thread (capability replies are routed away).

        With ``block=False``, None when nothing is waiting.
        """
        while True:
            with self._cond:
                if self.inbox:
                    return self.inbox.popleft()
            if self._read_lock.acquire(blocking=False):
                try:
                    if not block and not self._readable():
                        return None
                    msg = self._read()
                finally:
                    self._read_lock.release()
                if not self._route(msg):
                    return msg
            elif not block:
                return None
            else:  # a plugin thread is reading a reply for itself; it queues ours
                with self._cond:
                    if not self.inbox:
                        self._cond.wait(0.05)

    def await_reply(self, rid: int) -> CapReply:
        """Wait for the host's answer to capability request ``rid``, from any thread.

        One thread reads the channel at a time; what it reads for someone else (another
        thread's reply, a stream credit for the serving thread) it hands over.
        """
        while True:
            with self._cond:
                reply = self._replies.pop(rid, None)
                if reply is not None:
                    return reply
            if self._read_lock.acquire(blocking=False):
                try:
                    msg = self._read()
                finally:
                    self._read_lock.release()
                if not self._route(msg):
                    with self._cond:
                        self.inbox.append(msg)
                        self._cond.notify_all()
            else:
                with self._cond:
                    if rid not in self._replies:
                        self._cond.wait(0.05)

    def _read(self) -> Message:
        msg = self.chan.recv(SPIN)
        if msg is None:  # the host closed the channel: nothing more to do
            os._exit(0)
        return msg

    def _route(self, msg: Message) -> bool:
        """File a capability reply for the thread waiting on it; False for anything else."""
        if not isinstance(msg, CapReply):
            return False
        with self._cond:
            self._replies[msg.id] = msg
            self._cond.notify_all()
        return True

    def _readable(self) -> bool:
        if self.chan.has_frame():
            return True
        ready, _, _ = select.select([self.chan.sock], [], [], 0)
        return bool(ready)

    # -- serving ---------------------------------------------------------------------------

    def serve(self) -> None:
        while True:
            msg = self.receive()
            if isinstance(msg, Call):
                self.handle_call(msg)
            elif isinstance(msg, Load):
                self.handle_load(msg)
            elif isinstance(msg, Init):
                self.handle_init(msg)
            elif isinstance(msg, Shutdown):
                return
            # stray Credit/Cancel for a finished stream: nothing to do

    def run(self, value: Any) -> Any:
        if not inspect.isawaitable(value):
            return value
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(_await(value))

    def handle_load(self, msg: Load) -> None:
        from .._config import config_schema
        from .._interface import validate_interface
        from .._loader import import_entry

        self.name = msg.instance
        self.load_msg = msg
        _set_comm(f"wf:{msg.instance}")
        try:
            cls = import_entry(
                msg.entry,
                plugin=msg.name,
                code_root=msg.code_root,
                root=msg.root,
                files=msg.files,
            )
            problems = validate_interface(cls, msg.kind, plugin=msg.name)
            if problems and msg.check:  # keep the class: its config can still be checked
                self.cls, self.invalid = cls, True
                schema = config_schema(getattr(cls, "Config", None))
                rows = [msgspec.to_builtins(p) for p in problems[:50]]
                self.send(Loaded(schema=schema, problems=rows))
                return
            if problems:
                raise InterfaceError(
                    f"plugin '{msg.name}' does not implement the {msg.kind} interface: "
                    + "; ".join(p.message for p in problems),
                    plugin=msg.name,
                    problems=problems,
                )
            schema = config_schema(getattr(cls, "Config", None))
        except BaseException as exc:
            self.send(Loaded(schema=None, error=error_dict(exc, msg.name, self.memory_mb)))
            return
        self.cls = cls
        self.send(Loaded(schema=schema))

    def handle_init(self, msg: Init) -> None:
        from .._config import build_config

        try:
            if self.cls is None or self.load_msg is None:
                raise ProtocolViolation("init before load")
            lm = self.load_msg
            config = build_config(getattr(self.cls, "Config", None), msg.config, lm.name)
            if not msg.check_only and self.invalid:
                raise ProtocolViolation("init of a plugin that failed its interface check")
            if not msg.check_only:
                log = logging.getLogger(f"wiseflow.plugin.{lm.instance}")
                log.propagate = False
                log.setLevel(logging.DEBUG)
                log.addHandler(_LogHandler(self))
                ctx = PluginContext(
                    name=lm.instance,
                    config=config,
                    data_dir=Path(lm.data_dir),
                    backend=_IpcBackend(self),
                    log=log,
                )
                plugin = self.cls()
                self.plugin = plugin
                self.run(plugin.initialize(ctx))
        except BaseException as exc:
            self.send(Fail(id=msg.id, error=error_dict(exc, self.name, self.memory_mb)))
            return
        self.send(Result(id=msg.id))

    def handle_call(self, msg: Call) -> None:
        try:
            if self.plugin is None:
                raise PluginError("plugin is not initialized", plugin=self.name)
            method = msg.method
            if method.startswith("_"):
                raise PluginError(f"refusing to call private method {method!r}", plugin=self.name)
            args = list(msg.args)
            if msg.batch is not None:
                args.insert(0, msg.batch)
            value = self.run(getattr(self.plugin, method)(*args))
            if msg.stream:
                self.stream(msg, value)
                return
        except BaseException as exc:
            self.send(Fail(id=msg.id, error=error_dict(exc, self.name, self.memory_mb)))
            return
        records = records_only(value)
        try:
            if records is not None:
                self.send(Result(id=msg.id, records=records))
            else:
                self.send(Result(id=msg.id, value=pack(value)))
        except (TypeError, ValueError, OverflowError, ProtocolViolation) as exc:
            from ._salvage import unsendable_record

            bad = unsendable_record(records) if records is not None else None
            if bad is not None:  # named as the host names one it refuses (see _protocol)
                self.send(Fail(id=msg.id, error=bad_output(bad[1]).to_dict()))
            else:
                self.send(Fail(id=msg.id, error=_unsendable(exc, msg.method, self.name)))

    def stream(self, msg: Call, value: Any) -> None:
        """Send what ``value`` yields in chunks, never more than the host's credit allows."""
        rid = msg.id
        credit = msg.credit
        items = _iterate(value, self)
        buf: list[Any] = []
        started = time.monotonic()

        def flush() -> None:
            nonlocal credit
            records = records_only(buf)
            try:
                if records is not None:
                    self.send(Chunk(id=rid, records=records))
                else:
                    self.send(Chunk(id=rid, items=pack(buf)))
            except (TypeError, ValueError, OverflowError, ProtocolViolation):
                credit -= self._one_by_one(rid, buf)  # the host answers each with a credit
                return
            buf.clear()
            credit -= 1

        check = False  # look for a Cancel only after each chunk, not after every item
        try:
            while True:
                while credit <= 0 or check:
                    m = self.receive(block=credit <= 0)
                    if m is None:
                        break  # nothing waiting: go on producing
                    if isinstance(m, Credit) and m.id == rid:
                        credit += m.n
                    elif isinstance(m, Cancel) and m.id == rid:
                        _close(value, self)
                        self.send(End(id=rid))
                        return
                    elif isinstance(m, Shutdown):
                        os._exit(0)
                    elif isinstance(m, Call):
                        self.handle_call(m)  # a call while this stream is paused
                check = False
                try:
                    item = next(items)
                except StopIteration:
                    break
                if not buf:
                    started = time.monotonic()
                buf.append(item)
                if (
                    len(buf) >= CHUNK_ITEMS
                    or type(item) is Checkpoint
                    or time.monotonic() - started >= CHUNK_SECONDS
                ):
                    flush()
                    check = True
            if buf:
                flush()
        except _Unsendable as exc:  # what the plugin yielded (not a record) cannot be sent
            self.send(Fail(id=rid, error=_unsendable(exc.error, msg.method, self.name)))
            return
        except BaseException as exc:
            if buf:  # the plugin failed: what it yielded before is delivered first
                with contextlib.suppress(_Unsendable):
                    self._one_by_one(rid, buf)
            self.send(Fail(id=rid, error=error_dict(exc, self.name, self.memory_mb)))
            return
        self.send(End(id=rid))

    def _one_by_one(self, rid: int, buf: list[Any]) -> int:
        """Send the items of ``buf`` one chunk each (together they could not be sent).

        A record that cannot be sent goes as its refusal (a WF406 dead letter naming the
        field, as the host would refuse it) and the stream goes on; any other item that
        cannot be sent raises :class:`_Unsendable`, the items before it sent. Returns the
        number of chunks sent.
        """
        sent = 0
        while buf:
            item = buf[0]
            try:
                self.send(Chunk(id=rid, items=pack([item])))
            except (TypeError, ValueError, OverflowError, ProtocolViolation) as exc:
                if type(item) is not Record:
                    raise _Unsendable(exc) from exc
                problem = record_problem(item) or f"Record cannot be sent to the host: {exc}"
                refusal = refused(getattr(item, "id", None), problem)
                self.send(Chunk(id=rid, items=pack([refusal])))
            del buf[0]
            sent += 1
        return sent


class _Unsendable(Exception):
    """An item a stream yielded (not a record) cannot be encoded for the host."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _set_comm(name: str) -> None:
    """Name this process (``ps -o comm``, ``top``) after the plugin it serves."""
    import ctypes

    from ._sys import prctl

    buf = ctypes.create_string_buffer(name.encode()[:15])
    try:
        prctl(15, ctypes.addressof(buf))  # PR_SET_NAME
    except OSError:
        pass


def _unsendable(exc: BaseException, method: str, plugin: str | None) -> dict[str, Any]:
    err = PluginError(
        f"{method}() returned something that cannot cross to the host: {exc}",
        plugin=plugin,
        hint="return JSON-like values, Records, Checkpoints or Figures",
    )
    return error_dict(err, plugin)


def _iterate(value: Any, worker: _Worker) -> Iterator[Any]:
    if isinstance(value, AsyncIterator) or hasattr(value, "__anext__"):
        agen: AsyncIterator[Any] = value
        while True:
            try:
                yield worker.run(agen.__anext__())
            except StopAsyncIteration:
                return
    else:
        yield from value


def _close(value: Any, worker: _Worker) -> None:
    try:
        if hasattr(value, "aclose"):
            worker.run(value.aclose())
        elif hasattr(value, "close"):
            value.close()
    except Exception:
        pass


async def _await(value: Any) -> Any:
    return await value


def main(argv: list[str]) -> int:
    fd, host_pid = int(argv[1]), int(argv[2])
    sock = socket.socket(fileno=fd)
    chan = Channel(sock, peer_checked=True)  # the host checked every record it sends
    setup = chan.recv()
    if not isinstance(setup, Setup) or setup.policy.host_pid != host_pid:
        return 2
    sys.dont_write_bytecode = True  # nothing of a plugin's tree is compiled to disk
    confinement = confine(setup.policy)
    worker = _Worker(chan, setup.policy.memory_mb)
    worker.send(Ready(pid=os.getpid(), confinement=confinement))
    worker.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
