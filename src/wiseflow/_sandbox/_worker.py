"""The worker process: confine itself, then load and serve one plugin over the channel.

Started by the host as ``python -I -m wiseflow._sandbox._worker FD HOST_PID`` with a clean
environment and only the channel's fd open. It imports the plugin contract and the
protocol, never the manager. Order: read :class:`Setup`, apply every confinement layer,
report them in :class:`Ready`, and only then import plugin code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import msgspec

from .._contract._errors import PluginError, ProtocolViolation
from .._contract._instance import CHUNK_ITEMS, CHUNK_SECONDS, PluginInstance
from .._contract._record import Record, bad_output, record_problem, refused
from ._confine import confine
from ._ipc import IpcBackend, LogHandler
from ._mailbox import Mailbox
from ._monitor import install, watch
from ._pipes import PipeChannel
from ._protocol import (
    Call,
    Cancel,
    Channel,
    Chunk,
    Credit,
    End,
    Fail,
    Init,
    Load,
    Loaded,
    Ready,
    Result,
    Setup,
    Shutdown,
    error_dict,
    pack,
    records_only,
)
from ._spin import Spinner, spin_limit

#: The core's chunking rules (see ``PluginInstance.chunks``), re-exported for the host.
__all__ = ["CHUNK_ITEMS", "CHUNK_SECONDS", "main"]


class _Worker(Mailbox):
    """Serves one plugin: loads it, initializes it, runs its calls and streams."""

    def __init__(self, chan: Channel, memory_mb: int) -> None:
        super().__init__(chan)
        self.memory_mb = memory_mb
        self.ids_lock = threading.Lock()
        self.name: str | None = None
        self.instance: PluginInstance | None = None
        self.invalid = False  # loaded for `check` although its interface is broken
        self.load_msg: Load | None = None
        self.read_write: list[str] = []

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

    def handle_load(self, msg: Load) -> None:
        self.name = msg.instance
        self.load_msg = msg
        _set_comm(f"wf:{msg.instance}")
        try:
            _use_environment(msg.python_path)
            if self.monitor is not None:  # from here on, the plugin's attempts are noted
                watch(self.monitor, msg, self.read_write)
            inst = PluginInstance.load(
                msg.entry,
                name=msg.instance,
                plugin=msg.name,
                kind=msg.kind,
                code_root=msg.code_root,
                root=msg.root,
                files=msg.files,
            )
            if inst.problems and msg.check:  # keep the class: its config can still be checked
                self.instance, self.invalid = inst, True
                rows = [msgspec.to_builtins(p) for p in inst.problems[:50]]
                self.send(Loaded(schema=inst.config_schema(), problems=rows))
                return
            problem = inst.interface_error()
            if problem is not None:
                raise problem
            schema = inst.config_schema()
        except BaseException as exc:
            self.send(Loaded(schema=None, error=error_dict(exc, msg.name, self.memory_mb)))
            return
        self.instance = inst
        self.send(Loaded(schema=schema, non_idempotent=_non_idempotent(inst.cls)))

    def handle_init(self, msg: Init) -> None:
        try:
            inst, lm = self.instance, self.load_msg
            if inst is None or lm is None:
                raise ProtocolViolation("init before load")
            config = inst.build_config(msg.config)
            if not msg.check_only and self.invalid:
                raise ProtocolViolation("init of a plugin that failed its interface check")
            if not msg.check_only:
                log = logging.getLogger(f"wiseflow.plugin.{lm.instance}")
                log.propagate = False
                log.setLevel(logging.DEBUG)
                log.addHandler(LogHandler(self))
                inst.initialize(
                    config, data_dir=Path(lm.data_dir), backend=IpcBackend(self), log=log
                )
        except BaseException as exc:
            self.send(Fail(id=msg.id, error=error_dict(exc, self.name, self.memory_mb)))
            return
        self.send(Result(id=msg.id))

    def handle_call(self, msg: Call) -> None:
        # the host enforces every deadline (it kills the worker): no timeout in here
        try:
            if self.instance is None:
                raise PluginError("plugin is not initialized", plugin=self.name)
            args = msg.args if msg.batch is None else [msg.batch, *msg.args]
            if msg.stream:
                chunks = self.instance.chunks(msg.method, args, None)
            else:
                value = self.instance.call(msg.method, args, None)
        except BaseException as exc:
            self.send(Fail(id=msg.id, error=error_dict(exc, self.name, self.memory_mb)))
            return
        if msg.stream:
            self.stream(msg, chunks)
            return
        records = records_only(value) if type(value) is list else None
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

    def stream(self, msg: Call, chunks: Generator[list[Any], None, None]) -> None:
        """Send the plugin's chunks, never more than the host's credit allows.

        After each chunk the channel is looked at (a Cancel, a Credit, a call while the
        stream is paused) without waiting, or waiting for credit when none is left.
        """
        rid = msg.id
        credit = msg.credit
        try:
            for chunk in chunks:
                credit -= self._send_chunk(rid, chunk)
                while True:
                    m = self.receive(block=credit <= 0)
                    if m is None:
                        break  # nothing waiting: go on producing
                    if isinstance(m, Credit) and m.id == rid:
                        credit += m.n
                    elif isinstance(m, Cancel) and m.id == rid:
                        with contextlib.suppress(Exception):
                            chunks.close()  # closes the plugin's iterator too
                        self.send(End(id=rid))
                        return
                    elif isinstance(m, Shutdown):
                        os._exit(0)
                    elif isinstance(m, Call):
                        self.handle_call(m)  # a call while this stream is paused
        except _Unsendable as exc:  # what the plugin yielded (not a record) cannot be sent
            self.send(Fail(id=rid, error=_unsendable(exc.error, msg.method, self.name)))
            return
        except BaseException as exc:
            self.send(Fail(id=rid, error=error_dict(exc, self.name, self.memory_mb)))
            return
        self.send(End(id=rid))

    def _send_chunk(self, rid: int, chunk: list[Any]) -> int:
        """Send ``chunk`` as one frame, or item by item when it cannot go as one.

        Returns the number of frames sent (each costs one credit).
        """
        records = records_only(chunk)
        try:
            if records is not None:
                self.send(Chunk(id=rid, records=records))
            else:
                self.send(Chunk(id=rid, items=pack(chunk)))
        except (TypeError, ValueError, OverflowError, ProtocolViolation):
            return self._one_by_one(rid, chunk)  # the host answers each with a credit
        return 1

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


#: The methods the host calls (and may retry) on a plugin.
_METHODS = ("fetch", "process", "analyze", "result", "render", "check", "health")


def _non_idempotent(cls: Any) -> list[str]:
    """The methods ``cls`` marked non-idempotent (as the host's retry policy reads a
    trusted plugin's class: a ``non_idempotent`` set, or ``@wiseflow.non_idempotent``)."""
    found = []
    for method in _METHODS:
        with contextlib.suppress(Exception):  # a marker that cannot be read marks nothing
            marked = getattr(cls, "non_idempotent", ())
            marked = (marked,) if isinstance(marked, str) else marked
            fn = getattr(cls, method, None)
            if method in marked or getattr(fn, "__wiseflow_non_idempotent__", False):
                found.append(method)
    return found


class _Unsendable(Exception):
    """An item a stream yielded (not a record) cannot be encoded for the host."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _use_environment(paths: list[str]) -> None:
    """An installed plugin's own environment first on ``sys.path``, its ``.pth`` read (§14)."""
    if paths:  # the runtime (wiseflow, msgspec) is imported already: it stays its own
        import site

        before = list(sys.path)
        for path in paths:
            site.addsitedir(path)
        sys.path[:] = [p for p in sys.path if p not in before] + before


def _set_comm(name: str) -> None:
    """Name this process (``ps -o comm``, ``top``) after the plugin it serves."""
    import ctypes

    from ._sys import PR_SET_NAME, prctl

    buf = ctypes.create_string_buffer(name.encode()[:15])
    try:
        prctl(PR_SET_NAME, ctypes.addressof(buf))
    except OSError:
        pass


def _unsendable(exc: BaseException, method: str, plugin: str | None) -> dict[str, Any]:
    err = PluginError(
        f"{method}() returned something that cannot cross to the host: {exc}",
        plugin=plugin,
        hint="return JSON-like values, Records, Checkpoints or Figures",
    )
    return error_dict(err, plugin)


def main(argv: list[str]) -> int:
    wfd, host_pid, rfd = int(argv[1]), int(argv[2]), int(argv[3])
    for fd in (rfd, wfd):  # a subprocess the plugin may start does not inherit them
        os.set_inheritable(fd, False)
    chan = PipeChannel(rfd, wfd, peer_checked=True)  # the host checked every record it sends
    setup = chan.recv()
    if not isinstance(setup, Setup) or setup.policy.host_pid != host_pid:
        return 2
    sys.dont_write_bytecode = True  # nothing of a plugin's tree is compiled to disk
    confinement = confine(setup.policy)
    worker = _Worker(chan, setup.policy.memory_mb)
    worker.read_write = list(setup.policy.read_write)
    exec_denied = not setup.policy.allow_exec and "seccomp" in confinement.applied
    worker.monitor = install(exec_denied, worker.send)  # before any plugin code (_monitor)
    limit = spin_limit()
    if limit:  # a frame is waited for by polling briefly before sleeping (see _spin)
        chan.spinner = Spinner(limit)
    worker.send(Ready(pid=os.getpid(), confinement=confinement))
    worker.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
