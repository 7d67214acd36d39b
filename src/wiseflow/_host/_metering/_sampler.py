"""Reading what the OS says about one worker process (psutil, plus /proc for peaks).

A psutil read of one process costs ~10-60 µs (RSS, CPU, fds, threads), so the host samples
at most every ``interval_s`` rather than per call. USS reads ``smaps_rollup`` (~1 ms), so
it is read at most every ``USS_EVERY_S`` in the fuller samples taken for snapshots. Child
processes are counted from ``/proc/PID/task/TID/children`` (~20 µs) rather than psutil's
scan of every process (~1 ms).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:  # loaded by the first sample, not by every host's start (~10 ms)
    import psutil

__all__ = ["ProcessSample", "ProcessSampler", "proc_peaks"]

MB = 1024 * 1024
#: The least time between two USS reads of one process.
USS_EVERY_S = 5.0


@final
class ProcessSample:
    """One reading of a process: memory in bytes, CPU in seconds, counts."""

    __slots__ = ("children", "cpu_s", "fds", "pid", "rss", "threads", "uss")

    def __init__(
        self,
        pid: int,
        rss: int,
        cpu_s: float,
        fds: int,
        threads: int,
        uss: int | None = None,
        children: int | None = None,
    ) -> None:
        self.pid = pid
        self.rss = rss
        self.cpu_s = cpu_s
        self.fds = fds
        self.threads = threads
        self.uss = uss
        self.children = children


@final
class ProcessSampler:
    """Samples one process by pid; follows a new pid when the worker is restarted."""

    __slots__ = ("_proc", "_uss", "_uss_at")

    def __init__(self) -> None:
        self._proc: psutil.Process | None = None
        self._uss: int | None = None
        self._uss_at = -USS_EVERY_S

    def sample(self, pid: int, *, full: bool = False) -> ProcessSample | None:
        """Read ``pid`` now (None when it is gone). ``full`` adds USS and children."""
        import psutil

        proc = self._proc
        try:
            if proc is None or proc.pid != pid:
                proc = self._proc = psutil.Process(pid)
                self._uss, self._uss_at = None, -USS_EVERY_S
            with proc.oneshot():
                mem = proc.memory_info()
                cpu = proc.cpu_times()
                fds = proc.num_fds()
                threads = proc.num_threads()
            uss = children = None
            if full:
                now = time.monotonic()
                if now - self._uss_at >= USS_EVERY_S:
                    self._uss_at = now
                    try:
                        self._uss = int(proc.memory_full_info().uss)
                    except (psutil.AccessDenied, OSError):
                        self._uss = None
                uss = self._uss
                children = count_children(pid)
                if children is None:
                    children = len(proc.children(recursive=True))
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, OSError):
            self._proc = None
            return None
        return ProcessSample(
            pid,
            int(mem.rss),
            float(cpu.user + cpu.system),
            int(fds),
            int(threads),
            uss,
            children,
        )


def count_children(pid: int) -> int | None:
    """Descendants of ``pid`` from /proc (None where the kernel does not offer the files)."""
    total, todo = 0, [pid]
    try:
        while todo:
            p = todo.pop()
            for tid in os.listdir(f"/proc/{p}/task"):
                try:
                    with open(f"/proc/{p}/task/{tid}/children", encoding="ascii") as f:
                        kids = [int(k) for k in f.read().split()]
                except FileNotFoundError:
                    continue  # the thread ended meanwhile
                total += len(kids)
                todo.extend(kids)
    except FileNotFoundError:
        return total if p != pid else None
    except (OSError, ValueError):
        return None
    return total


def proc_peaks(pid: int) -> dict[str, Any]:
    """Peak address space (VmPeak) and peak RSS (VmHWM) of ``pid`` in MB, from /proc.

    These are the figures a memory quota is reached against: the worker's hard limit is an
    address-space rlimit (RLIMIT_AS). Empty when the process is gone.
    """
    out: dict[str, Any] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmPeak", "VmHWM", "VmRSS", "VmSize"):
                    out[key] = round(int(value.split()[0]) / 1024, 1)  # kB → MB
    except (OSError, ValueError, IndexError):
        return {}
    return out


def host_pid() -> int:
    return os.getpid()
