"""Per-plugin metering: what one plugin instance costs, measured rather than guessed.

- Sandboxed plugins: their worker process, read from the OS (RSS, USS, CPU time, open fds,
  threads, child processes), at most every ``interval_s``; CPU of earlier workers of the
  same instance (before a restart) is carried over. A worker on another machine (a Ray
  node) is read there: ``remote`` brings its samples (validated by whoever relays them).
- Trusted plugins share the host process, so the OS cannot tell their memory apart. CPU is
  the calling thread's CPU clock (``time.thread_time``) summed over calls (a call shorter
  than 20 µs, or the first long one after short ones, counts its wall time, an upper bound,
  to spare the clock's system call); memory is
  reported as unavailable, or, when ``tracemalloc`` is tracing, approximated by the net
  traced allocation across the plugin's calls (other threads allocating meanwhile blur it).

Soft limits are watched here, after each sample (``_soft``: crossing one calls ``on_soft``
once). Hard limits are the worker's rlimits (see ``_sandbox``).
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any, Protocol, final

from ._sampler import MB, ProcessSample, ProcessSampler, proc_peaks
from ._soft import SOFT_FRACTION, OnSoft, SoftLimits, soft_limit_reason
from ._threads import ThreadLedger

__all__ = [
    "SHORT_CALL_S",
    "SOFT_FRACTION",
    "PluginMeter",
    "SoftLimits",
    "active_count",
    "clock",
    "quota_figure",
    "soft_limit_reason",
]

#: Reads a worker that has no local pid (on a Ray node): its sample, or None.
RemoteSample = Callable[[bool], ProcessSample | None]
#: Calls shorter than this (wall clock) are counted at their wall time (see _account).
SHORT_CALL_S = 20e-6
_thread_time = time.thread_time
# one clock for call times, sample dues and the watch's check_at (the data-dir guard's)
_clock = clock = time.monotonic
_threads_alive = getattr(threading, "_active", None)  # CPython's registry of started threads
# a started thread is in it once start() returns: its size is active_count() for 1/10 the cost
_active_count = active_count = (
    _threads_alive.__len__ if isinstance(_threads_alive, dict) else threading.active_count
)
_tracing = tracemalloc.is_tracing


def _traced() -> int:
    return tracemalloc.get_traced_memory()[0]


class Watch(Protocol):
    """What the meter consults after calls (the data-dir guard, ``_policy._datadir``)."""

    #: ``time.monotonic()`` before which :meth:`maybe_check` has nothing to do.
    check_at: float

    def maybe_check(self) -> None:
        """Raise when the plugin crossed a ceiling (WF403)."""


class CallRunner(Protocol):
    """What :meth:`PluginMeter.call` calls (a :class:`~wiseflow._host._runner.Runner`)."""

    def call(self, method: str, args: list[Any], timeout: float | None) -> Any: ...


@final
class PluginMeter:
    """The figures of one plugin instance.

    Args:
        in_process: a trusted plugin (no pid of its own).
        pid: returns the worker's current pid (None when not running).
        interval_s: the least time between two OS samples.
        soft: soft limits to watch, and ``on_soft`` to call when one is crossed.
        remote: where the worker has no local pid (``pid`` returns None), its samples
            from where it runs (``RayRunner.remote_sample``); called with ``full``.
        watch: consulted after every call and stream chunk (after sampling), once its
            ``check_at`` has come; raises to end the plugin (see
            ``wiseflow._policy._datadir.DataDirGuard``).
    """

    __slots__ = (
        "_lock", "_pid", "_remote", "_sampler", "children", "cpu_prior", "due", "elapsed",
        "in_process", "interval_s", "last", "on_soft", "peak_rss", "samples", "soft",
        "thread_cpu", "timed", "traced", "uss", "watch",
    )  # fmt: skip

    def __init__(
        self,
        *,
        in_process: bool,
        pid: Callable[[], int | None],
        interval_s: float = 0.5,
        soft: SoftLimits | None = None,
        on_soft: OnSoft | None = None,
        watch: Watch | None = None,
        remote: RemoteSample | None = None,
    ) -> None:
        self.in_process = in_process
        self._pid = pid
        self._remote = remote
        self.interval_s = interval_s
        self.soft = soft or SoftLimits({})
        self.on_soft = on_soft
        self.watch = watch
        self._sampler = ProcessSampler()
        self._lock = threading.Lock()
        self.due = 0.0  # when the next sample is due (_clock)
        self.elapsed = 0.0  # wall time of the last call (s)
        self.last: ProcessSample | None = None
        self.samples = 0
        self.cpu_prior = 0.0  # CPU of earlier workers of this instance
        self.thread_cpu = 0.0  # trusted: summed thread CPU of calls
        self.timed = True  # read the thread CPU clock around the next call (see _account)
        self.traced = 0  # trusted, tracemalloc on: net bytes allocated across calls
        self.peak_rss = 0
        self.uss: int | None = None
        self.children: int | None = None

    # -- per call: the meter runs the call it measures ------------------------------------

    def call(
        self,
        runner: CallRunner,
        method: str,
        args: list[Any],
        timeout: float | None,
        threads: ThreadLedger,
    ) -> Any:
        """``runner.call(method, args, timeout)``, metered; its wall time is left in
        :attr:`elapsed` (the handle's latency figure: the clock is read twice per call).

        Trusted: the calling thread's CPU clock (and tracemalloc's net allocation when it is
        tracing) across the call, and threads started meanwhile go to ``threads``. Every
        call: a sample when one is due and the ``watch``.
        """
        if not self.in_process:
            start = _clock()
            try:
                return runner.call(method, args, timeout)
            finally:
                self.elapsed = _clock() - start
                self.maybe_sample()
        traced = _traced() if _tracing() else -1
        mark = _active_count()
        cpu = _thread_time() if self.timed else -1.0
        start = _clock()
        try:
            return runner.call(method, args, timeout)
        finally:
            self.done(start, _clock(), cpu, traced, mark, threads)

    def done(
        self, start: float, end: float, cpu: float, traced: int, mark: int, threads: ThreadLedger
    ) -> None:
        """After a trusted call from ``start`` to ``end`` (:func:`clock`) that began at thread
        CPU ``cpu`` (-1: not read, see :attr:`timed`) and traced memory ``traced`` (-1: not
        tracing), with ``mark`` threads alive: account it, adopt the threads it started,
        sample when :attr:`due`, consult the watch. Its wall time is kept in :attr:`elapsed`.

        For a short call (see :meth:`_account`) when nothing is due, no thread was started
        and the watch has nothing to do, all this comes down to adding its wall time to
        :attr:`thread_cpu` (``PluginHandle.invoke`` does just that, inline).
        """
        self.elapsed = elapsed = end - start
        if elapsed < SHORT_CALL_S and traced < 0:
            self.thread_cpu += elapsed
            self.timed = False
        else:
            self._account(cpu, elapsed, traced)
        if _active_count() > mark:
            threads.adopt_since(mark)
        if end >= self.due:
            self.sample()
        watch = self.watch
        if watch is not None and end >= watch.check_at:
            watch.maybe_check()

    def next_chunk(self, chunks: Iterator[list[Any]]) -> list[Any] | None:
        """The next chunk of a stream (None at its end), metered like :meth:`call`."""
        if not self.in_process:
            try:
                return next(chunks, None)
            finally:
                self.maybe_sample()
        traced = _traced() if _tracing() else -1
        cpu = _thread_time() if self.timed else -1.0
        wall = _clock()
        try:
            return next(chunks, None)
        finally:
            self._account(cpu, _clock() - wall, traced)
            self.maybe_sample()

    def _account(self, cpu: float, elapsed: float, traced: int) -> None:
        """Add the CPU of a call that began at thread CPU ``cpu`` and took ``elapsed`` s.

        Reading the thread CPU clock is a system call (0.3-1 µs on a VM), dearer than a short
        call itself. So a call shorter than :data:`SHORT_CALL_S` counts its wall time (it
        cannot have used more CPU than that), and the clock is read around a call only when
        the one before it was long (``cpu`` is -1 otherwise: the first long call after short
        ones also counts its wall time, an upper bound).
        """
        if elapsed < SHORT_CALL_S:
            self.thread_cpu += elapsed
            self.timed = False
        else:
            self.thread_cpu += _thread_time() - cpu if cpu >= 0 else elapsed
            self.timed = True
        if traced >= 0 and _tracing():
            self.traced += _traced() - traced

    # -- sampling --------------------------------------------------------------------------

    def maybe_sample(self) -> None:
        """Sample when ``interval_s`` has passed since the last sample (cheap otherwise).

        Runs ``watch`` too (the data-dir ceilings; it throttles itself), which raises WF403
        when the plugin crossed one.
        """
        now = _clock()
        if now >= self.due:
            self.sample()
        watch = self.watch
        if watch is not None and now >= watch.check_at:
            watch.maybe_check()

    def sample(self, *, full: bool = False) -> ProcessSample | None:
        """Read the worker now (sandboxed) and check the soft limits."""
        self.due = _clock() + self.interval_s
        if not self.in_process:
            pid = self._pid()
            if pid is not None:
                got = self._sampler.sample(pid, full=full)
            else:
                got = self._remote(full) if self._remote is not None else None
            with self._lock:
                if got is not None:
                    last = self.last
                    # another worker: a new pid, or (remote: pids of other nodes) less CPU
                    if last is not None and (last.pid != got.pid or got.cpu_s < last.cpu_s):
                        self.cpu_prior += last.cpu_s
                    self.last = got
                    self.samples += 1
                    self.peak_rss = max(self.peak_rss, got.rss)
                    if full:
                        self.uss, self.children = got.uss, got.children
        self.soft.check(self.figures(), self.on_soft)
        return self.last

    def figures(self) -> dict[str, float | None]:
        """The figures soft limits are judged on: memory MB, CPU s, open fds."""
        if self.in_process:
            return {"memory_mb": None, "cpu_s": self.thread_cpu, "fds": None}
        last = self.last
        if last is None:
            return {"memory_mb": None, "cpu_s": self.cpu_prior or None, "fds": None}
        return {"memory_mb": last.rss / MB, "cpu_s": self.cpu_prior + last.cpu_s, "fds": last.fds}

    def forget_worker(self) -> None:
        """The worker is gone for good (released): keep its CPU, drop its live figures."""
        with self._lock:
            if self.last is not None:
                self.cpu_prior += self.last.cpu_s
            self.last = None

    def to_dict(self) -> dict[str, Any]:
        """Figures for ``top``, ``run --json`` and the Prometheus export."""
        if self.in_process:
            tracing = tracemalloc.is_tracing()
            return {
                "cpu_s": round(self.thread_cpu, 4),
                "cpu_source": "thread CPU clock of calls",
                "memory_mb": round(self.traced / MB, 2) if tracing else None,
                "memory_source": (
                    "tracemalloc net allocations of calls (approximate)"
                    if tracing
                    else "unavailable in-process (run sandboxed to meter memory)"
                ),
                "uss_mb": None,
                "peak_rss_mb": None,
                "fds": None,
                "threads": None,
                "children": None,
                "samples": 0,
            }
        last = self.last
        where = " on its Ray node" if self._remote is not None else ""
        return {
            "cpu_s": round(self.cpu_prior + (last.cpu_s if last else 0.0), 4),
            "cpu_source": f"worker process{where} (psutil)",
            "memory_mb": round(last.rss / MB, 2) if last else None,
            "memory_source": f"worker RSS{where} (psutil)",
            "uss_mb": round(self.uss / MB, 2) if self.uss is not None else None,
            "peak_rss_mb": round(self.peak_rss / MB, 2) if self.peak_rss else None,
            "fds": last.fds if last else None,
            "threads": last.threads if last else None,
            "children": self.children,
            "samples": self.samples,
        }


def quota_figure(err_message: str, pid: int | None, runner: object, meter: PluginMeter) -> str:
    """The figure a quota was reached with, as the OS measured it (for WF403 messages).

    Memory, while the worker lives (a MemoryError it survived): its peak address space
    (VmPeak, what the RLIMIT_AS hard limit bounds) and peak RSS. CPU: the kernel stops the
    worker when its CPU time reaches RLIMIT_CPU, so the figure is the limit; the last sample
    is added. Otherwise the last sample before the worker ended.
    """
    memory_mb = getattr(runner, "memory_mb", None)
    peaks = proc_peaks(pid) if pid is not None else {}
    remote = getattr(runner, "remote_peaks", None)  # a worker on a Ray node: its node's
    if not peaks and pid is None and callable(remote):
        peaks = remote()
    if peaks:
        return (
            f"reached: peak address space {peaks.get('VmPeak')} MB, peak RSS "
            f"{peaks.get('VmHWM')} MB (limit {memory_mb} MB)"
        )
    figures = meter.to_dict()
    last = (
        f"last sampled: CPU {figures['cpu_s']} s, peak RSS {figures['peak_rss_mb']} MB"
        if figures["samples"]
        else "not sampled during the call"
    )
    cpu = getattr(runner, "cpu_seconds", None)
    if "CPU" in err_message and cpu is not None:
        return f"reached: {cpu:g} s of CPU, where RLIMIT_CPU stops the worker ({last})"
    return f"the worker ended before it could be measured ({last}; memory limit {memory_mb} MB)"
