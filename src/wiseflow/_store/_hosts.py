"""Which process runs a run: ``hostname:pid:start time`` stamps and whether one still lives."""

from __future__ import annotations

import os
import socket

__all__ = ["host_alive", "host_stamp"]

#: This process's start time, by pid (fixed while it lives; a forked child has another
#: pid): ``begin_run`` stamps every run with it, without reading it (and psutil) again.
_OWN_START: dict[int, float] = {}


def host_stamp(pid: int) -> str:
    """``hostname:pid:start time`` of a process (start time tells a reused pid apart)."""
    own = pid == os.getpid()
    started = _OWN_START.get(pid, 0.0) if own else 0.0
    if not started:
        import psutil

        try:
            started = psutil.Process(pid).create_time()
        except psutil.Error:
            started = 0.0
        if own and started:
            _OWN_START[pid] = started
    return f"{socket.gethostname()}:{pid}:{started:.2f}"


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
