"""The host's end of one worker's channel: frames out without blocking, frames in by a deadline.

Every wait on the worker is a ``poll`` on the channel and the worker's output pipe with a
deadline (output lines are logged meanwhile). The deadline is checked before every frame,
so a channel kept full of logs, capability requests or a frame dripped a byte at a time
cannot postpone it. The host never blocks writing to a worker: frames are posted without
blocking, and the rest waits in a backlog flushed when the worker reads. A worker that stops
reading while it keeps asking (more than :data:`MAX_BACKLOG` bytes unread) is no longer read
either, so it blocks on its own writes and uses no CPU until the deadline ends it.

With ``spin`` > 0 the link polls for a frame for up to that long before it sleeps in
``poll``, adaptively (``_spin``): a reply that comes within it costs no wakeup.
"""

from __future__ import annotations

import select
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NoReturn, final

from .._contract._errors import ProtocolViolation, WiseflowError
from ._behaviour import Behaviour
from ._messages import Telemetry
from ._output import OutputPump
from ._protocol import Cancel, CapRequest, Channel, Chunk, End, Fail, Log, Message
from ._spin import Spinner

__all__ = ["CANCEL_S", "MAX_BACKLOG", "Link"]

#: Bytes of replies the host holds for a worker that has not read them; past this the host
#: reads nothing more from it until it catches up (or the call's deadline ends it).
MAX_BACKLOG = 1 << 20
#: Seconds a worker has to end a cancelled stream before it is stopped.
CANCEL_S = 2.0
#: The longest single poll() in seconds: a far deadline is re-checked, never overflows poll.
_MAX_POLL = 3600.0
_POLLIN, _POLLOUT = select.POLLIN, select.POLLOUT
_READABLE = select.POLLIN | select.POLLHUP | select.POLLERR


@final
class Link:
    """Frames to and from one worker.

    Args:
        chan: the host's end of the channel.
        pump: the worker's output pipe (lines are logged while the link waits).
        spin: the longest to poll for a frame before sleeping in ``poll`` (0.0: never; see
            ``_spin``).
        timeout: ``timeout(what)`` ends the worker for a missed deadline (never returns).
        died: ``died()`` reports the worker's end once its channel closed (never returns).
        violation: ``violation(what)`` ends the worker for a broken frame (never returns).
        serve: ``serve(request, deadline)`` answers a capability request.
    """

    __slots__ = (
        "_died", "_events", "_poll", "_serve", "_timeout", "_violation", "_writing", "behaviour",
        "chan", "pump", "spinner", "streams", "write_failed",
    )  # fmt: skip

    def __init__(
        self,
        chan: Channel,
        pump: OutputPump,
        *,
        spin: float,
        timeout: Callable[[str], NoReturn],
        died: Callable[[], NoReturn],
        violation: Callable[[str], NoReturn],
        serve: Callable[[CapRequest, float], None],
    ) -> None:
        self.chan = chan
        self.pump = pump
        self.spinner = Spinner(spin) if spin > 0 else None
        self._timeout = timeout
        self._died = died
        self._violation = violation
        self._serve = serve
        #: open streams: frames for one arriving while another call waits are kept here
        self.streams: dict[int, deque[Message]] = {}
        self.write_failed = False  # the worker stopped taking frames (EPIPE, ECONNRESET)
        self.behaviour = Behaviour()  # the runner hands its own (one per run, across restarts)
        self._poll = select.poll()
        self._events = select.POLLIN  # what the poll waits for on the channel
        self._writing = False  # whether it waits for room on the channel's write end
        self._poll.register(chan.rfd, self._events)
        self._poll.register(pump.fd, select.POLLIN)

    def send(self, msg: Message) -> None:
        """Post ``msg`` to the worker; never blocks (:meth:`next` flushes what is left)."""
        if self.write_failed:
            return
        try:
            self.chan.post(msg)
        except OSError:
            self._write_lost()

    def _flush(self) -> None:
        try:
            self.chan.flush()
        except OSError:
            self._write_lost()

    def _write_lost(self) -> None:
        """The worker takes no more frames (it exited or shut its end of the channel).

        Not a verdict yet: what it sent before is still read and delivered first (a stream's
        last chunk included); :meth:`next` reports the end once nothing more is waiting.
        """
        self.write_failed = True
        self.chan.discard()

    def wait(self, rid: int, kinds: tuple[type[Any], ...], deadline: float, what: str) -> Message:
        """The next message of ``kinds`` for ``rid``, serving everything else meanwhile:
        capability requests are answered, logs logged, other streams' frames queued."""
        queued = self.streams.get(rid)
        if queued:
            first: Message = queued.popleft()
            return first
        spin = self.spinner is not None  # for the first frame only (see next)
        while True:
            msg = self.next(deadline, what, spin)
            spin = False
            mid = getattr(msg, "id", 0)
            if mid == rid and type(msg) in kinds:  # never a CapRequest: no wait is for one
                return msg
            if isinstance(msg, CapRequest):
                self._serve(msg, deadline)
                continue
            if isinstance(msg, Log):
                self.pump.emit(msg.level, msg.message)
                continue
            if isinstance(msg, Telemetry):  # behaviour telemetry: kept bounded (_behaviour)
                self.behaviour.add(msg)
                continue
            if isinstance(msg, Chunk | End | Fail) and mid in self.streams:
                self.streams[mid].append(msg)
                continue
            self._violation(f"an unexpected {type(msg).__name__} message during {what}")

    def cancel(self, rid: int) -> None:
        """Stop stream ``rid``: ask the worker, then drop its chunks until it ends."""
        try:
            self.send(Cancel(id=rid))
            deadline = time.monotonic() + CANCEL_S
            while True:
                msg = self.wait(rid, (Chunk, End, Fail), deadline, "cancel")
                if not isinstance(msg, Chunk):
                    return
        except WiseflowError:
            pass  # the worker was stopped; the next call reports it

    def next(self, deadline: float, what: str, spin: bool = False) -> Message:
        """The worker's next frame, flushing the backlog meanwhile; WF401 at ``deadline``.

        The deadline is checked before every frame, not only when the channel is idle. While
        more than :data:`MAX_BACKLOG` bytes of replies wait, nothing more is read. With
        ``spin``, the channel is polled briefly before the link sleeps (see ``_spin``): a
        wait spins for its first frame only, so a worker sending frames at a pace just
        inside the spin cannot keep the host's CPU busy (each wait costs one spin at most).
        """
        chan, pump, poll = self.chan, self.pump, self._poll
        while True:
            now = time.monotonic()
            if now >= deadline:
                self._timeout(what)
            reading = True
            if chan.pending:
                self._flush()
                reading = chan.backlog <= MAX_BACKLOG
            if reading:
                try:
                    msg = chan.take()
                except ProtocolViolation as exc:
                    self._violation(exc.message)
                if msg is not None:
                    return msg
                if self.write_failed:
                    self._read_remains()
                    continue
                spinner = self.spinner
                if spin and spinner is not None and not chan.pending:
                    spin = False
                    budget = spinner.budget()
                    if budget:
                        try:
                            got = chan.try_recv(min(budget, deadline - now))
                        except OSError:
                            got = False
                        if got is False:
                            self._died()
                        if got:
                            spinner.hit()
                            continue
                        spinner.miss()
                        now = time.monotonic()
            if not reading or self._events != _POLLIN or chan.pending or self._writing:
                self._watch(reading)
            remaining = min(deadline - now, _MAX_POLL)
            if not remaining > 0:  # NaN included: fail closed
                self._timeout(what)
            for ready, ev in poll.poll(int(remaining * 1000) + 1):
                if ready == pump.fd:
                    if not pump.drain():
                        poll.unregister(ready)
                    continue
                if ready != chan.rfd:  # the write end: room, or the worker is gone (EPIPE)
                    self._flush()
                    continue
                if ev & _POLLOUT:
                    self._flush()
                if ev & _READABLE:
                    try:
                        more = chan.recv_some()
                    except OSError:
                        more = False
                    if not more:
                        self._died()
                    if reading:  # a frame that arrived whole in time is taken at once
                        try:
                            msg = chan.take()
                        except ProtocolViolation as exc:
                            self._violation(exc.message)
                        if msg is not None:
                            return msg

    def _watch(self, reading: bool) -> None:
        """Poll the channel for what the next wait needs: frames while ``reading``, room
        while a backlog waits (the write end is watched only then: a pipe whose reader is
        gone would report it at every poll)."""
        chan, poll = self.chan, self._poll
        events = _POLLIN if reading else 0
        writing = bool(chan.pending)
        if chan.rfd == chan.wfd:  # one socket for both
            events |= _POLLOUT if writing else 0
        elif writing != self._writing:
            if writing:
                poll.register(chan.wfd, _POLLOUT)
            else:
                poll.unregister(chan.wfd)
            self._writing = writing
        if events != self._events:
            poll.modify(chan.rfd, events)
            self._events = events

    def _read_remains(self) -> None:
        """After a failed write: take what the worker sent before, or report its end."""
        try:
            got = self.chan.try_recv(0.0)
        except OSError:
            got = False
        if not got:
            self._died()
