"""The channel between host and worker over a pair of pipes (the sandbox's transport).

A round trip over two pipes costs about half one over an AF_UNIX socketpair: measured on a
2-core machine with both CPUs busy, 6 µs against 13 µs for a 4-byte ping-pong, with half
the CPU time on each side (``bench/callpath.py --rtt``), because a pipe write is a copy and
a wakeup while a socket write allocates, accounts and frees a buffer per message. Frames,
limits and decoding are :class:`~wiseflow._sandbox._protocol.Channel`'s; only the reads and
writes differ.

Each side reads one pipe and writes the other. The worker's ends block (as ``send`` and
``recv`` did on its socket). The host's write end is non-blocking, so :meth:`post` never
blocks; the host reads only after ``poll`` said its pipe is readable (``_link``).

A write to a pipe nobody can read raises SIGPIPE, which kills a process that does not
ignore it (Python ignores it, an embedding program may not; a socket had MSG_NOSIGNAL).
So the host holds a copy of the worker's read end (``keep``): its pipe always has a
reader, a worker that closes its end cannot kill the host, and a dead worker is seen by
the end of the pipe it wrote (as before); what the host wrote meanwhile is dropped with
the pipe.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import select
import time

from ._protocol import MAX_FRAME, Channel, Message
from ._spin import Spinner

__all__ = ["PIPE_SIZE", "PipeChannel", "host_pipes"]

#: Each pipe's capacity: a batch of 500 records (~150 KB) fits without the writer waiting
#: (the default 64 KiB would cut it in three). Best effort: the system's maximum may be lower.
PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class PipeChannel(Channel):
    """A :class:`Channel` reading ``rfd`` and writing ``wfd`` (the ends of two pipes).

    ``timeout`` (seconds, None: none) bounds the blocking :meth:`send` and each blocking
    read with TimeoutError, as ``settimeout`` bounds a socket's; the host never needs it
    (its waits are polls with deadlines) and leaves it None.
    """

    __slots__ = ("_reader", "_spin_poll", "keep", "spinner", "timeout")

    def __init__(
        self,
        rfd: int,
        wfd: int,
        *,
        keep: int = -1,
        max_frame: int = MAX_FRAME,
        peer_checked: bool = False,
    ) -> None:
        self._setup(max_frame, peer_checked)
        self.rfd, self.wfd = rfd, wfd
        self.keep = keep  # an fd held open only to be closed with the channel (or -1)
        self.timeout: float | None = None
        #: how a blocking :meth:`recv` spins before it sleeps (None: it sleeps at once)
        self.spinner: Spinner | None = None
        self._spin_poll = select.poll()
        self._spin_poll.register(rfd, select.POLLIN)
        # reads straight into the buffer with one read(2) (os.readv costs more per call)
        self._reader = io.FileIO(rfd, "rb", closefd=False)

    def close(self) -> None:
        """Close both ends and the kept one (once)."""
        fds = (self.rfd, self.wfd, self.keep)
        self.rfd = self.wfd = self.keep = -1
        self._reader.close()  # closefd=False: only forgets the fd (closed below)
        self._spin_poll = select.poll()  # polls nothing: the fd number may be reused
        for fd in fds:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _wait(self, fd: int, event: int) -> None:
        """Wait for ``fd`` to be ready for ``event`` within :attr:`timeout` (if set)."""
        p = select.poll()
        p.register(fd, event)
        end = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            left = None if end is None else max(0, int((end - time.monotonic()) * 1000) + 1)
            if p.poll(left):
                return
            if end is not None and time.monotonic() >= end:
                raise TimeoutError("timed out")

    def send(self, msg: Message) -> None:
        """Send ``msg`` whole, waiting while the pipe is full (the worker's writer)."""
        out = self.encode(msg)
        if self.timeout is None:
            try:
                sent = os.write(self.wfd, out)
            except BlockingIOError:
                sent = 0
            if sent == len(out):  # the usual case: the pipe took all of it
                return
        else:
            sent = 0
        with memoryview(out) as view:
            size = len(out)
            step = size
            while sent < size:
                if self.timeout is not None:
                    self._wait(self.wfd, select.POLLOUT)
                    step = select.PIPE_BUF  # what a writable pipe takes without blocking
                try:
                    sent += os.write(self.wfd, view[sent : sent + step])
                except BlockingIOError:  # the host's end does not block: wait for room
                    self._wait(self.wfd, select.POLLOUT)

    def post(self, msg: Message) -> None:
        """Send ``msg`` without ever blocking: what the pipe does not take now is queued."""
        out = self.encode(msg)
        if self.pending:
            self.pending += out
            return
        try:
            n = os.write(self.wfd, out)
        except (BlockingIOError, InterruptedError):
            n = 0
        if n < len(out):
            with memoryview(out) as view:
                self.pending[:] = view[n:]
            self._sent = 0

    def flush(self) -> bool:
        """Write as much of the backlog as the pipe takes now; True once it is empty."""
        pending = self.pending
        while self._sent < len(pending):
            try:
                with memoryview(pending) as view:
                    n = os.write(self.wfd, view[self._sent :])
            except (BlockingIOError, InterruptedError):
                self._compact()
                return False
            self._sent += n
        pending.clear()
        self._sent = 0
        return True

    def try_recv(self, spin: float) -> bool | None:
        """Read what is available within ``spin`` seconds, polling without sleeping.

        Returns True when data arrived, False at end of stream, None when nothing came.
        Never yields the CPU (see ``_spin``): callers spin only with a CPU to spare.
        """
        poll = self._spin_poll.poll
        if not poll(0):
            clock = time.perf_counter
            end = clock() + spin
            while not poll(0):
                if clock() >= end:
                    return None
        return self._read()

    def recv_some(self, spin: float = 0.0) -> bool:
        """Read what is available (blocking until something is); False at end of stream.

        Spins first for ``spin`` seconds, or (``spin`` 0) as the :attr:`spinner` allows.
        """
        spinner = self.spinner if spin <= 0 else None
        if spinner is not None:
            spin = spinner.budget()
        if spin > 0:
            got = self.try_recv(spin)
            if got is not None:
                if spinner is not None:
                    spinner.hit()
                return got
            if spinner is not None:
                spinner.miss()
        if self.timeout is not None:
            self._wait(self.rfd, select.POLLIN)
        return self._read()

    def recv(self, spin: float = 0.0) -> Message | None:
        """Block until one whole message arrives; None when the peer closed the channel."""
        while True:
            if self._end:
                msg = self.take()
                if msg is not None:
                    return msg
            if not self.recv_some(spin):
                return None

    def _read(self) -> bool:
        end = self._end
        if end == len(self._in):
            self._room()
            end = self._end
        n = self._reader.readinto(self._view[end:])
        if n is None:  # EAGAIN: nothing after all (the peer's data went elsewhere)
            return True
        if not n:
            return False
        self._end = end + n
        return True


def host_pipes() -> tuple[tuple[int, int, int], tuple[int, int]]:
    """Two pipes for one worker: ((host read, host write, kept), (worker read, worker
    write)); kept: the host's copy of the worker's read end (see the module's notes).

    All are close-on-exec (the worker's are passed on explicitly); the host's write end is
    non-blocking; each pipe is enlarged to :data:`PIPE_SIZE` where the system allows.
    """
    up_r, up_w = os.pipe2(os.O_CLOEXEC)  # worker -> host
    down_r, down_w = os.pipe2(os.O_CLOEXEC)  # host -> worker
    for fd in (up_w, down_w):
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, _F_SETPIPE_SZ, PIPE_SIZE)
    os.set_blocking(down_w, False)
    return (up_r, down_w, os.dup(down_r)), (down_r, up_w)
