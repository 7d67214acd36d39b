"""Which process runs a run: ``hostname:pid:start time`` stamps and whether one still lives."""

from __future__ import annotations

import os
import socket

__all__ = ["host_alive", "host_stamp"]


def host_stamp(pid: int) -> str:
    """``hostname:pid:start time`` of a process (start time tells a reused pid apart)."""
    return f"{socket.gethostname()}:{pid}:{_started(pid):.2f}"


def _started(pid: int) -> float:
    """When ``pid`` started, in seconds since the epoch (0.0: gone), as psutil says.

    On Linux read from ``/proc`` as psutil reads it (the same arithmetic, so the same
    float: stamps written by either agree), without loading psutil (~10 ms): a trusted
    run needs nothing else of it. Elsewhere, or when ``/proc`` says something unexpected,
    psutil.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        with open("/proc/stat", "rb") as f:
            btime = next(line for line in f if line.startswith(b"btime"))
        ticks = float(data[data.rfind(b")") + 2 :].split()[19]) / os.sysconf("SC_CLK_TCK")
        return ticks + float(btime.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        if os.path.isdir("/proc/self"):
            return 0.0  # a Linux /proc, and no such process
    except (OSError, ValueError, IndexError, StopIteration):
        pass
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return 0.0


def host_alive(stamp: str | None) -> bool:
    """Whether the process a run's ``host`` stamp names still runs (other machines: yes)."""
    if not stamp:
        return False  # written before hosts were recorded: nothing can still be running it
    parts = stamp.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    hostname, pid_text, started = parts
    if hostname != socket.gethostname():
        return True  # cannot tell from here: leave it to that machine
    return started != "0.00" and host_stamp(int(pid_text)) == stamp
