"""Reading what the OS says about one worker process (psutil, plus /proc for peaks).

A psutil read of one process costs ~10-20 µs (more with USS, which reads smaps_rollup, and
children, which scans /proc), so the host samples at most every ``interval_s`` rather than
per call, and reads USS and children only in the fuller samples taken for snapshots.
"""

from __future__ import annotations

import os
from typing import Any, final

import psutil

__all__ = ["ProcessSample", "ProcessSampler", "proc_peaks"]

MB = 1024 * 1024


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

    __slots__ = ("_proc",)

    def __init__(self) -> None:
        self._proc: psutil.Process | None = None

    def sample(self, pid: int, *, full: bool = False) -> ProcessSample | None:
        """Read ``pid`` now (None when it is gone). ``full`` adds USS and children."""
        proc = self._proc
        try:
            if proc is None or proc.pid != pid:
                proc = self._proc = psutil.Process(pid)
            with proc.oneshot():
                mem = proc.memory_info()
                cpu = proc.cpu_times()
                fds = proc.num_fds()
                threads = proc.num_threads()
            uss = children = None
            if full:
                try:
                    uss = int(proc.memory_full_info().uss)
                except (psutil.AccessDenied, OSError):
                    uss = None
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
