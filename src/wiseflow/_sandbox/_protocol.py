"""The wire between host and worker: length-prefixed msgpack frames of typed messages.

A frame is a 4-byte big-endian length then one msgpack-encoded :data:`Message` (the typed
messages of ``_messages``, importable from here too). Frames over :data:`MAX_FRAME` bytes,
frames that do not decode, and messages that arrive out of turn are a
:class:`ProtocolViolation` (WF406); a frame holding more items or values than this side
accepts is refused before it is decoded (``_peek``).

The worker writes with :meth:`Channel.send` (blocking: a host that stops reading stalls only
that worker). The host never blocks on a worker: it writes with :meth:`Channel.post`, which
sends what the channel takes now and keeps the rest as a backlog that :meth:`Channel.flush`
sends when it is writable again. :class:`Channel` works over a socket; host and worker use
its pipe form (``_pipes.PipeChannel``: the same frames, half the cost per round trip).
"""

from __future__ import annotations

import socket
import struct
import time

import msgspec

from .._contract._errors import ProtocolViolation
from .._contract._record import already_checked
from ._messages import (  # the messages are part of the protocol: importable from here  # noqa: F401 - for _salvage, which decodes a frame's records itself
    _EXT_RECORD,
    Call,
    Cancel,
    CapReply,
    CapRequest,
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
    _record_decoder,
    _record_encoder,
    enc_hook,
    error_dict,
    ext_hook,
    pack,
    records_only,
)
from ._messages import ext_hook as _ext_hook  # noqa: F401 - for _salvage too
from ._peek import check_counts

__all__ = [
    "MAX_FRAME",
    "Call",
    "Cancel",
    "CapReply",
    "CapRequest",
    "Channel",
    "Chunk",
    "Credit",
    "End",
    "Fail",
    "Init",
    "Load",
    "Loaded",
    "Log",
    "Message",
    "Ready",
    "Result",
    "Setup",
    "Shutdown",
    "error_dict",
    "pack",
    "records_only",
]

#: The largest frame either side accepts (64 MiB): a batch of 500 records is ~150 KB.
MAX_FRAME = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")
#: post()/flush(): never block, and a vanished peer is EPIPE, never SIGPIPE
_SEND_FLAGS = socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL
_COMPACT = 1 << 20
#: The receive buffer's usual size; it grows only for a frame larger than this.
_IN_SIZE = 256 * 1024
#: Records in a frame shorter than this (a call's reply, a record or two) are checked in
#: full, as if made here: stricter, and cheaper than switching the check off and on.
_CHECK_ALL_BELOW = 512


class Channel:
    """One end of a socket (a socketpair's): send and receive whole messages.

    The receive side reads into a reusable buffer, decodes frames from it without copying
    them, and never allocates more than :data:`MAX_FRAME` for one frame, whatever length
    prefix the peer claims. ``peer_checked`` is fixed when the channel is made.
    """

    __slots__ = (
        "_checked",
        "_decoder",
        "_encoder",
        "_end",
        "_in",
        "_out",
        "_sent",
        "_start",
        "_view",
        "max_chunk_items",
        "max_frame",
        "max_result_items",
        "max_values",
        "peer_checked",
        "pending",
        "rfd",
        "sock",
        "wfd",
    )  # fmt: skip

    def __init__(
        self, sock: socket.socket, *, max_frame: int = MAX_FRAME, peer_checked: bool = False
    ) -> None:
        self.sock = sock
        self.rfd = self.wfd = sock.fileno()  # what to poll for reading and for writing
        self._setup(max_frame, peer_checked)

    def _setup(self, max_frame: int, peer_checked: bool) -> None:
        #: The peer checked every record it sends (the host, seen from a worker): they are
        #: decoded without being checked again. Never set on the host's side, where the
        #: records decoded are checked for what typed decoding leaves (see already_checked).
        self.peer_checked = peer_checked
        self.max_frame = max_frame
        # items a Result / Chunk may hold, counted before decoding (None: any; see _peek)
        self.max_result_items: int | None = None
        self.max_chunk_items: int | None = None
        # values a frame over COUNT_FROM bytes may hold (None: not counted; see _peek)
        self.max_values: int | None = None
        self._encoder = msgspec.msgpack.Encoder(enc_hook=enc_hook)
        self._decoder = msgspec.msgpack.Decoder(Message, ext_hook=ext_hook)
        self._checked = already_checked(by_peer=peer_checked)  # entered around each decode
        self._out = bytearray(64 * 1024)
        # recv() would allocate (and free) a fresh buffer of the requested size per call
        self._in = bytearray(_IN_SIZE)
        self._view = memoryview(self._in)
        self._start = self._end = 0  # the bytes received and not decoded yet
        #: post(): frames the socket has not taken yet (empty when nothing waits); the
        #: first ``_sent`` bytes of it are already sent
        self.pending = bytearray()
        self._sent = 0

    def encode(self, msg: Message) -> bytearray:
        """``msg`` as a frame (header included) in this channel's reused buffer."""
        out = self._out
        self._encoder.encode_into(msg, out, _HEADER.size)
        size = len(out) - _HEADER.size
        if size > self.max_frame:
            raise ProtocolViolation(f"refusing to send a frame of {size} bytes")
        _HEADER.pack_into(out, 0, size)
        return out

    def send(self, msg: Message) -> None:
        """Send ``msg``, blocking until the socket took all of it (the worker's writer)."""
        self.sock.sendall(self.encode(msg))

    def post(self, msg: Message) -> None:
        """Send ``msg`` without ever blocking: what the socket does not take now is queued.

        Frames go out in order: while a backlog waits, ``msg`` joins it. Raises OSError when
        the peer is gone (EPIPE, ECONNRESET); the caller decides what that means.
        """
        out = self.encode(msg)
        if self.pending:
            self.pending += out
            return
        try:
            n = self.sock.send(out, _SEND_FLAGS)
        except (BlockingIOError, InterruptedError):
            n = 0
        if n < len(out):
            with memoryview(out) as view:
                self.pending[:] = view[n:]
            self._sent = 0

    @property
    def backlog(self) -> int:
        """Bytes posted but not yet taken by the socket."""
        return len(self.pending) - self._sent

    def flush(self) -> bool:
        """Send as much of the backlog as the socket takes now; True once it is empty.

        Raises OSError when the peer is gone.
        """
        pending = self.pending
        while self._sent < len(pending):
            try:
                with memoryview(pending) as view:
                    n = self.sock.send(view[self._sent :], _SEND_FLAGS)
            except (BlockingIOError, InterruptedError):
                self._compact()
                return False
            self._sent += n
        pending.clear()
        self._sent = 0
        return True

    def _compact(self) -> None:
        if self._sent >= _COMPACT:  # a backlog that never empties must not grow
            del self.pending[: self._sent]
            self._sent = 0

    def close(self) -> None:
        self.sock.close()

    def discard(self) -> None:
        """Forget the backlog (the peer will never read it)."""
        self.pending.clear()
        self._sent = 0

    # -- receiving ---------------------------------------------------------------------------
    # Received bytes are kept in ``_in[_start:_end]``: frames are decoded from a view of it
    # without being copied, and the buffer is reset to empty once all of it was read.

    def _move(self, capacity: int) -> None:
        """Move the unread bytes to the front of a buffer of ``capacity`` bytes (this one,
        or a new one: views of the old one, a traceback's, keep it alive unchanged)."""
        data = bytes(self._view[self._start : self._end])  # a copy: the two may overlap
        if capacity != len(self._in):
            self._in = bytearray(capacity)
            self._view = memoryview(self._in)
        self._in[: len(data)] = data
        self._start, self._end = 0, len(data)

    def _room(self) -> None:
        """Before a read into a full buffer: make room, never more than the frame needs.

        The buffer grows (doubling, at most to the announced frame's size, itself checked
        against :attr:`max_frame`) only while one incomplete frame fills all of it.
        """
        capacity = len(self._in)
        if self._start > 0:  # frames were read from it: move what is left to the front
            self._move(capacity)
            return
        wanted = capacity
        if self._frame_end() == 0:  # raises for an oversized frame
            wanted = _HEADER.size + _HEADER.unpack_from(self._in, 0)[0]
        self._move(min(2 * capacity, wanted) if wanted > capacity else 2 * capacity)

    def _frame_end(self) -> int:
        """Where the first buffered frame ends in ``_in``; 0 while it is not all here.

        Raises:
            ProtocolViolation: its header announces more than :attr:`max_frame` bytes.
        """
        start = self._start
        if self._end - start < _HEADER.size:
            return 0
        size: int = _HEADER.unpack_from(self._in, start)[0]
        if size > self.max_frame:
            raise ProtocolViolation(
                f"peer announced a frame of {size} bytes (max {self.max_frame})"
            )
        end = start + _HEADER.size + size
        return end if end <= self._end else 0

    def has_frame(self) -> bool:
        """Whether a complete frame is already buffered."""
        return self._frame_end() > 0

    def feed(self, data: bytes) -> None:
        """Add received bytes (as if read from the socket)."""
        n, capacity = len(data), len(self._in)
        if self._end + n > capacity:
            unread = self._end - self._start
            self._move(capacity if unread + n <= capacity else max(unread + n, 2 * capacity))
        self._in[self._end : self._end + n] = data
        self._end += n

    def clear_input(self) -> None:
        """Forget every byte received and not decoded yet."""
        self._start = self._end = 0

    def take(self) -> Message | None:
        """The next buffered frame, decoded; None when no whole frame is buffered."""
        end = self._frame_end()
        if not end:
            return None
        start = self._start
        msg = self._decode(self._view[start + _HEADER.size : end])
        if end == self._end:
            self._start = self._end = 0
            if len(self._in) > _IN_SIZE:  # a large frame passed: back to the usual size
                self._in = bytearray(_IN_SIZE)
                self._view = memoryview(self._in)
        else:
            self._start = end
        return msg

    def pop(self) -> Message:
        """Decode the buffered frame (call only after :meth:`has_frame`)."""
        msg = self.take()
        if msg is None:
            raise ProtocolViolation("no whole frame is buffered")
        return msg

    def _decode(self, body: memoryview) -> Message:
        """The message of one frame's body; the frame stays buffered when this raises."""
        try:
            check_counts(body, self.max_result_items, self.max_chunk_items, self.max_values)
            try:
                if len(body) < _CHECK_ALL_BELOW:
                    msg: Message = self._decoder.decode(body)
                else:
                    with self._checked:
                        msg = self._decoder.decode(body)
            except msgspec.ValidationError:
                # well-formed, but some record breaks the contract: that record alone is
                # refused (see salvage); anything else wrong is a violation below
                from ._salvage import salvage  # only when a frame fails its typed decoding

                saved = salvage(body)
                if saved is None:
                    raise
                msg = saved
        except (
            msgspec.DecodeError,
            msgspec.ValidationError,
            ValueError,
            TypeError,
            RecursionError,
        ) as exc:
            raise ProtocolViolation(f"malformed frame: {exc}") from None
        return msg

    def try_recv(self, spin: float) -> bool | None:
        """Poll the socket without blocking for up to ``spin`` seconds.

        Waking a sleeping process costs a few microseconds; a reply may arrive sooner than
        that (see ``_spin``; the sandbox's pipes spin the same way).

        Returns:
            True when data arrived, False at end of stream, None when nothing came.
        """
        end = time.perf_counter() + spin
        sock = self.sock
        while True:
            if self._end == len(self._in):
                self._room()
            try:
                n = sock.recv_into(self._view[self._end :], 0, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                if time.perf_counter() >= end:
                    return None
                continue
            if not n:
                return False
            self._end += n
            return True

    def recv_some(self, spin: float = 0.0) -> bool:
        """Read what is available (blocking until something is); False at end of stream."""
        if spin > 0:
            got = self.try_recv(spin)
            if got is not None:
                return got
        end = self._end
        if end == 0:  # the usual case: nothing is buffered
            n = self.sock.recv_into(self._in)
        else:
            if end == len(self._in):
                self._room()
                end = self._end
            n = self.sock.recv_into(self._view[end:])
        if not n:
            return False
        self._end = end + n
        return True

    def recv(self, spin: float = 0.0) -> Message | None:
        """Block until one whole message arrives; None when the peer closed the channel."""
        while True:
            if self._end:  # something is buffered (after a read, the usual case: nothing)
                msg = self.take()
                if msg is not None:
                    return msg
            if not self.recv_some(spin):
                return None
