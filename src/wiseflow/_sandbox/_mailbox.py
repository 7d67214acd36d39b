"""The worker's end of the channel, shared by the serving thread and plugin threads.

The serving thread reads calls; a plugin thread that made a capability request (``ctx``)
reads the channel for its reply. One thread reads at a time, and hands over what it reads
for another (a reply to the thread awaiting it, anything else to the serving thread's
inbox) before it lets go of the channel. Sends are serialised, behaviour telemetry first.
"""

from __future__ import annotations

import os
import select
import threading
from collections import deque
from typing import TYPE_CHECKING

from ._protocol import CapReply, Channel, Message

if TYPE_CHECKING:
    from ._monitor import Monitor

__all__ = ["Mailbox"]


class Mailbox:
    """The channel as the worker's threads share it; subclassed by the worker (``_worker``).

    Attributes:
        monitor: behaviour telemetry (``_monitor``), sent ahead of the reply it precedes.
    """

    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self.inbox: deque[Message] = deque()
        self._send_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._cond = threading.Condition()
        self._replies: dict[int, CapReply] = {}
        self.monitor: Monitor | None = None  # behaviour telemetry (_monitor)

    def send(self, msg: Message) -> None:
        with self._send_lock:
            extra = self.monitor.frame_for(msg) if self.monitor is not None else None
            if extra is not None:  # behaviour telemetry goes ahead of a reply (_monitor)
                self.chan.send(extra)
            self.chan.send(msg)

    def receive(self, *, block: bool = True) -> Message | None:
        """The next message for the serving thread (capability replies are routed away).

        With ``block=False``, None when nothing is waiting. A thread that reads a message
        for the serving thread queues it before it lets go of the channel, so the inbox is
        looked at again once the channel is ours: nothing queued is missed.
        """
        inbox = self.inbox  # only this (serving) thread takes from it
        while True:
            if self._read_lock.acquire(blocking=False):
                try:
                    if inbox:
                        return inbox.popleft()
                    if not block and not self._readable():
                        return None
                    msg = self.chan.recv()
                    if msg is None:  # the host closed the channel: nothing more to do
                        os._exit(0)
                    if type(msg) is not CapReply:
                        return msg
                    self._route(msg)
                finally:
                    self._read_lock.release()
            elif inbox:
                return inbox.popleft()
            elif not block:
                return None
            else:  # a plugin thread is reading a reply for itself; it queues ours
                with self._cond:
                    if not inbox:
                        self._cond.wait(0.05)

    def await_reply(self, rid: int) -> CapReply:
        """Wait for the host's answer to capability request ``rid``, from any thread.

        One thread reads the channel at a time; what it reads for someone else (another
        thread's reply, a stream credit for the serving thread) it hands over before it
        lets go of the channel.
        """
        while True:
            with self._cond:
                reply = self._replies.pop(rid, None)
                if reply is not None:
                    return reply
            if self._read_lock.acquire(blocking=False):
                try:
                    msg = self._read()
                    if not self._route(msg):
                        with self._cond:
                            self.inbox.append(msg)
                            self._cond.notify_all()
                finally:
                    self._read_lock.release()
            else:
                with self._cond:
                    if rid not in self._replies:
                        self._cond.wait(0.05)

    def _read(self) -> Message:
        msg = self.chan.recv()
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
        ready, _, _ = select.select([self.chan.rfd], [], [], 0)
        return bool(ready)
