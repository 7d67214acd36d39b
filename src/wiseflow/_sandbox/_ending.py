"""How a sandboxed worker ends, and the verdict that outlives it.

A worker ends because the host closes it, because the host ends it for a verdict (a
ceiling crossed, a deadline passed, a malformed frame), or because it died. Either way its
process group is killed and reaped and everything it held released (``_stop``); a verdict
is recorded, and this and every later call fail with it until the plugin is loaded again.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import TYPE_CHECKING, NoReturn

from .._contract._errors import PluginError, WiseflowError
from ._failures import not_running, timed_out, violated
from ._launch import stop_process
from ._process import death_error

if TYPE_CHECKING:
    import threading

    from ._link import Link
    from ._output import OutputPump
    from ._pipes import PipeChannel
    from ._process import WorkerProcess

__all__ = ["Ending"]

#: Seconds a worker that closed its channel has to exit before the host stops it.
_EXIT_GRACE = 0.5


class Ending:
    """The ending of a worker, for :class:`~wiseflow._sandbox._runner.WorkerRunner`.

    Its base class: the runner holds the process and the state read here.
    """

    if TYPE_CHECKING:  # the runner's

        @property
        def name(self) -> str: ...

        cpu_seconds: float
        memory_mb: int
        _lock: threading.RLock
        _proc: WorkerProcess | None
        _chan: PipeChannel | None
        _pump: OutputPump | None
        _link: Link | None
        _scratch: str | None
        _tail: list[str]
        _failure: WiseflowError | None
        _limit: float | None

    def _require_alive(self) -> None:
        if self._failure is not None:
            raise not_running(self.name, self._failure)
        if self._proc is None:
            raise PluginError(f"plugin '{self.name}' is not loaded", plugin=self.name)

    def end(self, err: WiseflowError) -> NoReturn:
        """Stop the worker for a host verdict (a ceiling crossed); this and later calls fail."""
        with self._lock:
            self._stop()
            self._failure = err
        raise err

    def kill(self) -> None:
        """Kill the worker's process group now, from any thread, without waiting for a call.

        The thread in the call sees the channel close (and the handle reports the cause).
        """
        proc = self._proc
        if proc is not None:  # not reaped yet, so its pid still names the group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _violation(self, what: str) -> NoReturn:
        self._stop()
        self._failure = err = violated(self.name, what)
        raise err

    def _timeout(self, what: str) -> NoReturn:
        unread = self._chan.backlog if self._chan is not None else 0
        self._stop()
        self._failure = err = timed_out(self.name, what, unread, self._limit)
        raise err

    def _died(self) -> NoReturn:
        """The channel closed: wait briefly for the exit, reap, and say why it died."""
        exited = self._wait_exit(_EXIT_GRACE)
        status, cpu = self._stop()
        err = death_error(
            self.name,
            status,
            cpu,
            self._tail,
            cpu_seconds=self.cpu_seconds,
            memory_mb=self.memory_mb,
            stopped_by_host=not exited,
        )
        self._failure = err
        raise err

    def _alive(self) -> bool:
        return self._proc is not None and self._failure is None

    def _wait_exit(self, seconds: float) -> bool:
        return self._proc is None or self._proc.wait_exit(seconds)

    def _stop(self) -> tuple[int | None, float]:
        """Kill the process group, reap the worker, release everything; (status, cpu s)."""
        proc, self._proc = self._proc, None
        pump, self._pump = self._pump, None
        chan, self._chan = self._chan, None
        scratch, self._scratch = self._scratch, None
        self._link = None
        status, cpu, tail = stop_process(proc, pump, chan, scratch)
        if tail is not None:
            self._tail = tail  # for the message of a crash
        return status, cpu
