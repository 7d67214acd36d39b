"""Processes a dead host left behind: what a plugin forked, outliving its worker.

A worker dies with its host (``PR_SET_PDEATHSIG``), and the host kills the worker's whole
process group whenever it stops it. When the host itself is killed (SIGKILL, the OOM
killer), nobody stops the group: the processes the plugin forked carry no death signal
(``fork`` clears it) and go on, confined but unwatched, writing to the data dir with no
``max_data_mb`` enforced, for as long as they like.

So a root host keeps a record of each worker it runs, in ``<data_dir>/workers/<pid>``
(where no worker can write): its uid and start time. Stopping the worker removes it. The
first worker a host starts sweeps the records a dead host left: a record whose worker is
gone names a process group the plugin cannot have left (``setsid`` and ``setpgid`` are
refused by seccomp), and every process still in it with the plugin's uid is killed, each
through a pidfd after it was checked again (a reused pid is never signalled). A record
whose worker still runs (another live host) is left alone.

A non-root host's workers keep the host's uid (in a user namespace) and are not recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

__all__ = ["forget", "record", "sweep_orphans"]

log = logging.getLogger("wiseflow.sandbox")

FOLDER = "workers"
_records: dict[int, Path] = {}  # worker pid -> its record
_swept: set[Path] = set()  # host data dirs swept by this process
_lock = threading.Lock()
#: the uids ``_confine.plugin_uid`` hands out: a worker's processes, never a real account's
_PLUGIN_UIDS = range(0x6F000000, 0x6F000000 + 0x100000)


def _host_dir(plugin_data_dir: str) -> Path | None:
    """``<data_dir>`` for ``<data_dir>/plugins/<instance>``; None for a temporary data dir."""
    path = Path(plugin_data_dir)
    return path.parent.parent if path.parent.name == "plugins" else None


def record(plugin_data_dir: str, pid: int, uid: int | None) -> None:
    """Note the worker ``pid`` (running as ``uid``); the first time per host, sweep first."""
    host = _host_dir(plugin_data_dir)
    if host is None or uid is None or os.geteuid() != 0:
        return
    folder = host / FOLDER
    with _lock:
        first = folder not in _swept
        _swept.add(folder)
    if first:
        killed = sweep_orphans(folder)
        if killed:
            log.warning(
                "killed %d process(es) that plugins forked under a wiseflow host that died "
                "(their workers were gone): pids %s",
                len(killed),
                ", ".join(map(str, killed[:20])),
            )
    start = _start_time(pid)
    if start is None:
        return  # already gone
    with contextlib.suppress(OSError):
        folder.mkdir(exist_ok=True)
        (folder / str(pid)).write_text(f"{uid} {start}\n", encoding="ascii")
        with _lock:
            _records[pid] = folder / str(pid)


def forget(pid: int) -> None:
    """The worker ``pid`` was stopped with its group: drop its record."""
    with _lock:
        path = _records.pop(pid, None)
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def sweep_orphans(folder: Path) -> list[int]:
    """Kill what is left of the groups of dead workers recorded in ``folder``; their pids."""
    try:
        names = [n for n in os.listdir(folder) if n.isdigit()]
    except OSError:
        return []
    stale: dict[int, int] = {}  # pgid (the dead worker's pid) -> its uid
    for name in names:
        try:
            uid_text, start_text = (folder / name).read_text("ascii").split()
            uid, start = int(uid_text), int(start_text)
        except (OSError, ValueError):
            continue
        if uid not in _PLUGIN_UIDS:
            continue  # a record naming a real account (hand-made): never kill by it
        if _start_time(int(name)) == start:
            continue  # that worker still runs: its own host stops it
        stale[int(name)] = uid
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    if not stale:
        return []
    killed = []
    for name in os.listdir("/proc"):
        ids = _ids(int(name)) if name.isdigit() else None
        if ids is not None and stale.get(ids[1]) == ids[0] and _kill(int(name), ids):
            killed.append(int(name))
    return killed


def _start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None when it is gone or has exited
    (a zombie: a killed host's worker waits there until init reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _ids(pid: int) -> tuple[int, int] | None:
    """(real uid, process group) of ``pid``, or None when it is gone, has exited (a
    zombie, nothing to kill) or is unreadable."""
    uid = pgid = None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                    return None
                if line.startswith("Uid:"):
                    uid = int(line.split()[1])
                elif line.startswith("NSpgid:"):
                    pgid = int(line.split()[1])  # first: as the host's namespace sees it
    except (OSError, ValueError, IndexError):
        return None
    return (uid, pgid) if uid is not None and pgid is not None else None


def _kill(pid: int, ids: tuple[int, int]) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False  # gone meanwhile
    try:
        if _ids(pid) != ids:
            return False  # not the process that was judged (it exited; the pid was reused)
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
