"""The data dir ceilings (``max_data_mb``, ``max_data_files``), checked while plugins run.

Each plugin instance gets a :class:`DataDirGuard`. It is checked in two places:

- in the calling thread after every call and stream item (``PluginMeter.watch``), where a
  crossing ends the worker and raises WF403 at once;
- by one host thread (:func:`watch`) every :data:`WATCH_EVERY_S`, so a plugin that fills
  its data dir inside one long call is killed mid-call; the calling thread then reports the
  guard's WF403 instead of the worker's death.

A worker's scratch space (its ``TMPDIR``, a fresh folder in the system's temporary directory)
counts with its data dir: the sandbox registers it (:func:`add_scratch`) while the worker
lives, so a plugin cannot move its files there to pass the ceilings.

A scan is an ``os.scandir`` walk that stops as soon as either limit is crossed (it never
costs more than ``max_data_files`` entries: ~20 ms for 10,000), and each guard throttles
itself so that scanning takes at most :attr:`DataDirGuard.BUDGET` of the wall time (a
scan's cost is its CPU time: preemption on a busy machine does not defer the next check).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import final

from .._contract._ceilings import Limits
from .._contract._errors import QuotaExceeded

__all__ = [
    "WATCH_EVERY_S",
    "DataDirGuard",
    "add_scratch",
    "data_dir_guard",
    "drop_scratch",
    "measure",
    "scratch_dirs",
    "watch",
]

log = logging.getLogger("wiseflow.ceilings")

#: How often the host thread looks at every data dir (each guard throttles itself too).
WATCH_EVERY_S = 0.5


@final
class DataDirGuard:
    """Watches one plugin's data dir: bytes (``max_data_mb``) and entries (``max_data_files``).

    Args:
        plugin: the instance name (for messages).
        path: the data dir.
        max_mb, max_files: the limits.
        on_exceeded: called in the calling thread with the WF403 error before it is raised
            (stops the worker and marks it failed).
        kill: called from the watcher thread when a limit is crossed (kills the worker at
            once, whatever it is doing; must not wait for the calling thread).
    """

    #: The largest share of wall time spent scanning one data dir (cost = the scan's CPU time).
    BUDGET = 0.05
    __slots__ = ("__weakref__", "_lock", "_next_at", "_watch_at", "check_at", "kill", "last_cost_s",
                 "max_bytes", "max_files", "on_exceeded", "path", "plugin", "scans",
                 "tripped")  # fmt: skip

    def __init__(
        self,
        plugin: str,
        path: str,
        *,
        max_mb: int,
        max_files: int,
        on_exceeded: Callable[[QuotaExceeded], None] | None = None,
        kill: Callable[[], None] | None = None,
    ) -> None:
        self.plugin = plugin
        self.path = path
        self.max_bytes = max_mb * 1024 * 1024
        self.max_files = max_files
        self.on_exceeded = on_exceeded
        self.kill = kill
        self.tripped: QuotaExceeded | None = None  # found by the watcher, not yet reported
        self._lock = threading.Lock()
        self._next_at = 0.0  # the next check after a call (throttled to BUDGET)
        # time.monotonic() before which maybe_check() has nothing to do (0: a crossing the
        # watcher found waits to be reported): the caller's meter reads it, not a call
        self.check_at = 0.0
        self._watch_at = 0.0  # the watcher thread's next scan (throttled alike)
        self.last_cost_s = 0.0
        self.scans = 0

    def maybe_check(self) -> None:
        """After a call: report what the watcher found, or scan when due; raise WF403."""
        if self.tripped is None and time.monotonic() < self._next_at:
            return  # the common case, without the lock (the watcher sets `tripped` whole)
        with self._lock:
            err, self.tripped = self.tripped, None
        if err is None and time.monotonic() >= self._next_at:
            err = self.over()
        with self._lock:
            self.check_at = 0.0 if self.tripped is not None else self._next_at
        if err is None:
            return
        if self.on_exceeded is not None:
            self.on_exceeded(err)
        raise err

    def check(self) -> None:
        """Scan now; raise :class:`QuotaExceeded` naming the limit crossed."""
        err = self.over()
        if err is not None:
            if self.on_exceeded is not None:
                self.on_exceeded(err)
            raise err

    def settle(self) -> QuotaExceeded | None:
        """At the end of a run: scan now, unthrottled; the WF403 for a limit crossed, or None.

        The throttle lets the calls inside its window go unchecked, so the calls that
        filled the dir may be the run's last ones: this check reports the crossing in the
        run that made it. The error is also kept for the next call (which puts the plugin in
        ERROR) and the worker is ended (sandboxed).
        """
        err = self.tripped if self.tripped is not None else self.over()
        if err is None:
            return None
        with self._lock:
            self.tripped = err
            self.check_at = 0.0
        if self.kill is not None:
            self.kill()
        return err

    def watch(self) -> None:
        """From the watcher thread: scan when due; on a crossing kill the worker, keep the error."""
        if self.tripped is not None or time.monotonic() < self._watch_at:
            return
        err = self.over(watcher=True)
        if err is None:
            return
        with self._lock:
            self.tripped = err
            self.check_at = 0.0
        if self.kill is not None:
            self.kill()

    def over(self, *, watcher: bool = False) -> QuotaExceeded | None:
        """Scan now: the WF403 for the limit crossed, or None.

        The watcher thread and the calling thread keep separate schedules: a scan the watcher
        made in the middle of a call (perhaps before the call wrote its files) never stands
        in for the check after that call.
        """
        c0 = time.thread_time()
        files, size = measure(self.path, self.max_files, self.max_bytes)
        where = "its data dir"
        for extra in scratch_dirs(self.path):
            if files > self.max_files or size > self.max_bytes:
                break
            more, grown = measure(extra, self.max_files - files, self.max_bytes - size)
            if more:
                files, size, where = files + more, size + grown, "its data dir and scratch space"
        done = time.monotonic()
        self.scans += 1
        # The scan's cost is the CPU time it took, not its wall time: on a busy machine a
        # preempted scan would otherwise push the next check far out (a plugin writing its
        # files in one call, then more calls, could pass several calls unchecked). The
        # plugin's own call takes at least its own CPU time of wall time, so a call that
        # writes much more than one scan reads is always followed by a due check.
        self.last_cost_s = time.thread_time() - c0
        if watcher:
            self._watch_at = done + self.last_cost_s / self.BUDGET
        else:
            self._next_at = done + self.last_cost_s / self.BUDGET
        if files > self.max_files:
            return QuotaExceeded(
                f"plugin '{self.plugin}' has more than {self.max_files:,} files in {where} "
                f"(max_data_files {self.max_files} reached: the plugin was stopped)",
                plugin=self.plugin,
                hint=f"remove files from {self.path}; the operator may raise "
                "[policy] max_data_files",
            )
        if size > self.max_bytes:
            mb = self.max_bytes // (1024 * 1024)
            return QuotaExceeded(
                f"plugin '{self.plugin}' holds more than {mb:,} MB in {where} "
                f"(max_data_mb {mb} reached: the plugin was stopped)",
                plugin=self.plugin,
                hint=f"remove files from {self.path}; the operator may raise [policy] max_data_mb",
            )
        return None


def measure(path: str, max_entries: int, max_bytes: int) -> tuple[int, int]:
    """(entries, bytes) under ``path``, counting stops once either passes its limit.

    Entries are files, folders and links (each takes an inode); bytes are allocated blocks
    (a sparse file counts what it really uses). Symlinks are not followed.
    """
    entries = size = 0
    todo = [path]
    while todo:
        try:
            it = os.scandir(todo.pop())
        except OSError:
            continue  # vanished or unreadable meanwhile: the worker owns it
        with it:
            for entry in it:
                entries += 1
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                size += st.st_blocks * 512
                if entries > max_entries or size > max_bytes:
                    return entries, size
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
    return entries, size


def data_dir_guard(plugin: str, data_dir: object, limits: Limits, runner: object) -> DataDirGuard:
    """A :class:`DataDirGuard` for one instance, watched by the host thread.

    ``runner.end(err)`` (sandboxed workers) stops the process group from the calling
    thread and ``runner.kill()`` from the watcher; in-process plugins cannot be stopped
    from outside and are put in ERROR by the raised WF403.
    """
    end, kill = getattr(runner, "end", None), getattr(runner, "kill", None)
    guard = DataDirGuard(
        plugin,
        str(data_dir),
        max_mb=limits.max_data_mb,
        max_files=limits.max_data_files,
        on_exceeded=end if callable(end) else None,
        kill=kill if callable(kill) else None,
    )
    watch(guard)
    return guard


#: data dir -> the scratch folders of the workers using it now (replicas share a data dir)
_scratch: dict[str, set[str]] = {}
_scratch_lock = threading.Lock()


def _key(data_dir: str) -> str:
    return os.path.normpath(os.path.abspath(data_dir))


def add_scratch(data_dir: str, scratch: str) -> None:
    """Count ``scratch`` (a worker's temporary folder) with ``data_dir`` until dropped."""
    with _scratch_lock:
        _scratch.setdefault(_key(data_dir), set()).add(scratch)


def drop_scratch(scratch: str) -> None:
    """Stop counting ``scratch`` (its worker stopped and the folder is being removed)."""
    with _scratch_lock:
        for key, folders in list(_scratch.items()):
            folders.discard(scratch)
            if not folders:
                del _scratch[key]


def scratch_dirs(data_dir: str) -> list[str]:
    """The scratch folders counted with ``data_dir`` now."""
    with _scratch_lock:
        return sorted(_scratch.get(_key(data_dir), ()))


_watched: weakref.WeakSet[DataDirGuard] = weakref.WeakSet()
_watcher: threading.Thread | None = None
_watcher_lock = threading.Lock()


def watch(guard: DataDirGuard) -> None:
    """Have the host's watcher thread look at ``guard`` (until it is garbage)."""
    global _watcher
    with _watcher_lock:
        _watched.add(guard)
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(target=_watch_loop, name="wiseflow-datadir", daemon=True)
            _watcher.start()


def _watch_loop() -> None:
    while True:
        time.sleep(WATCH_EVERY_S)
        with _watcher_lock:
            guards = list(_watched)
        for guard in guards:
            try:
                guard.watch()
            except Exception:  # a scan must never take the watcher down
                log.exception("checking the data dir of plugin %s failed", guard.plugin)
        del guards
