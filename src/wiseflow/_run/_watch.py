"""``wiseflow run --watch``: keep a run going, and reload plugins whose files change.

A watched run does not end when its sources are drained: each source is asked again
:attr:`Watch.poll_s` seconds later, from the last checkpoint it yielded, until the run is
stopped (Ctrl-C, SIGTERM, or :attr:`Watch.stop` for an embedder). A thread looks at the
files of every folder plugin of the run (a polling watcher: stat stamps, no inotify
dependency) and, once a change has settled, checks the new version and starts it beside
the old one (:func:`wiseflow._host._reload.replacement`: manifest, identity, permissions,
audit, interface, config). A version that passes takes over at a batch boundary:

- a processor, just before the engine hands it the next batch (never mid-batch); the old
  worker is shut down then, its in-flight batch done. An idle source sends its last
  checkpoint again as an empty batch while a reload waits, so the swap is not held back
  until new records arrive;
- a connector, when its current fetch is drained, before it is asked again;
- an analyzer is not reloaded: its result covers the whole run, so the change applies to
  the next run (said so).

A version that fails a check is released and the old one keeps running; the reason, with
its WF code, goes to :attr:`Watch.notify` and the log.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, final

from .._contract._errors import WiseflowError
from .._contract._plugin import Figure
from .._contract._record import Checkpoint, Record

if TYPE_CHECKING:
    from .._contract._errors import SkipRecord
    from .._host._handle import PluginHandle
    from .._host._manager import PluginManager

__all__ = ["Live", "Reloader", "Watch"]

log = logging.getLogger("wiseflow.watch")

#: How often the plugin folders are looked at (a stat of each file).
CHECK_S = 0.25
#: A plugin folder with more files is not watched (said so when the run starts).
MAX_FILES = 2000

Stamps = dict[str, tuple[int, int, int]]

#: Called for every reload event: a one-line message and its fields (``event``:
#: ``reloaded`` | ``refused`` | ``pending`` | ``next-run``; ``plugin``, ``instance``, ``code``).
Notify = Callable[[str, dict[str, Any]], None]


@final
class Watch:
    """How a run watches (``run_pipeline(..., watch=Watch())``).

    Args:
        poll_s: ask drained sources again after this many seconds.
        reapprove: a changed folder plugin in ``wiseflow.lock`` is approved again (files
            only; never a manifest asking for more). Default: refused with WF303.
        stop: set it to end the run (it then ends ``ok``); a new event when None.
        notify: called with each reload event (the CLI prints them on stderr).

    .. versionadded:: 0.2.0
    """

    __slots__ = ("notify", "poll_s", "reapprove", "stop")

    def __init__(
        self,
        *,
        poll_s: float = 2.0,
        reapprove: bool = False,
        stop: threading.Event | None = None,
        notify: Notify | None = None,
    ) -> None:
        if not poll_s > 0:
            raise ValueError("poll_s must be > 0")
        self.poll_s = float(poll_s)
        self.reapprove = reapprove
        self.stop = stop or threading.Event()
        self.notify = notify


@final
class Live:
    """A stage whose plugin instance can be swapped for a reloaded one (the engine's
    :class:`~wiseflow._pipeline.StageHandle`)."""

    __slots__ = ("current", "reloader")

    def __init__(self, handle: PluginHandle, reloader: Reloader) -> None:
        self.current = handle
        self.reloader = reloader

    @property
    def name(self) -> str:
        return self.current.name

    @property
    def plugin(self) -> str:
        return self.current.plugin

    def __getattr__(self, attr: str) -> Any:  # state, last_error, manifest, limits...
        return getattr(self.current, attr)

    def fetch_chunks(
        self, state: dict[str, Any] | None, size: int = 500
    ) -> Iterator[list[Record | Checkpoint | SkipRecord]]:
        """The source's chunks, and again from its last checkpoint every ``poll_s``."""
        stop = self.reloader.watch.stop
        while not stop.is_set():
            self.reloader.apply(self)
            for chunk in self.current.fetch_chunks(state, size):
                for item in reversed(chunk):
                    if type(item) is Checkpoint:
                        state = dict(item.state)
                        break
                yield chunk
            yield []  # drained: the engine ships the records it holds for a batch
            deadline = time.monotonic() + self.reloader.watch.poll_s
            while (left := deadline - time.monotonic()) > 0:
                if stop.wait(min(0.2, left)):
                    return
                if state is not None and self.reloader.waiting():
                    # its checkpoint again (stored as it is): a batch boundary now, so a
                    # reloaded processor takes over while this source is idle
                    yield [Checkpoint(state=state)]
                yield []  # lets the engine see its own stop (Ctrl-C) while this waits

    def process(self, batch: list[Record]) -> list[Record]:
        return self.current.process(batch)

    def analyze(self, batch: list[Record]) -> None:
        self.current.analyze(batch)

    def result(self) -> dict[str, Any]:
        return self.current.result()

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        return self.current.render(result)


@final
class Reloader:
    """Watches the folders of a run's plugins and swaps in what passes its checks."""

    def __init__(
        self, pm: PluginManager, handles: dict[str, list[PluginHandle]], watch: Watch
    ) -> None:
        from .._policy._identity import plugin_root

        self.pm = pm
        self.watch = watch
        self.stages = {kind: [Live(h, self) for h in hs] for kind, hs in handles.items()}
        self._pending: dict[str, PluginHandle] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.roots: dict[str, str] = {}  # plugin -> folder, of the folder plugins watched
        for live in self.live():
            if live.current.origin == "dir" and live.plugin not in self.roots:
                root = plugin_root(pm.catalog.select(live.plugin).selected[live.plugin])
                if root is not None:
                    self.roots[live.plugin] = root
        self._seen = {p: snapshot(r) for p, r in self.roots.items()}
        self.unwatched = sorted(p for p, files in self._seen.items() if files is None)
        for plugin in self.unwatched:  # looking at it four times a second would cost too much
            del self.roots[plugin], self._seen[plugin]
        self._thread = threading.Thread(target=self._loop, name="wiseflow-watch", daemon=True)

    def live(self) -> list[Live]:
        return [s for kind in ("connector", "processor", "analyzer") for s in self.stages[kind]]

    def __enter__(self) -> Reloader:
        self._thread.start()
        if self.watch.notify is not None:
            folders = len(self.roots)
            skipped = (
                f" (not watched, over {MAX_FILES} files: {', '.join(self.unwatched)})"
                if self.unwatched
                else ""
            )
            self.watch.notify(
                f"watching {folders} plugin folder(s){skipped}; sources polled every "
                f"{self.watch.poll_s:g}s; Ctrl-C ends the run",
                {"event": "watching", "plugin": None, "instance": None, "code": None,
                 "hint": None},
            )  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=30)
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for handle in pending:  # checked, never swapped in
            handle.release()

    def waiting(self) -> bool:
        """A reloaded processor waits for the next batch boundary."""
        return any(live.name in self._pending for live in self.stages["processor"])

    def between(self) -> None:
        """The engine's batch boundary (its consumer thread): reloaded processors take over."""
        if self._pending:
            for live in self.stages["processor"]:
                self.apply(live)

    def apply(self, live: Live) -> None:
        """Swap in ``live``'s reloaded instance, if one is ready (no call is in flight)."""
        with self._lock:
            new = self._pending.pop(live.name, None)
        if new is None:
            return
        self.pm.replace(live.name, new, "replaced by its reloaded version")
        live.current = new
        self._say("reloaded", f"{live.name}: reloaded ({new.plugin} {new.version})", live, None)

    def _loop(self) -> None:
        last: dict[str, Stamps | None] = dict(self._seen)
        while not (self._done.wait(CHECK_S) or self.watch.stop.is_set()):
            for plugin, root in self.roots.items():
                now = snapshot(root)
                settled = now == last.get(plugin)  # unchanged over one look: edits are done
                last[plugin] = now
                if settled and now != self._seen[plugin]:
                    self._seen[plugin] = now
                    self._changed(plugin)

    def _changed(self, plugin: str) -> None:
        from .._host._reload import reload_error, replacement

        for live in self.live():
            if live.plugin != plugin:
                continue
            if live.current.kind == "analyzer":
                msg = "changed; an analyzer's result covers the whole run: the new version runs "
                self._say("next-run", f"{live.name}: {msg}from the next run", live, None)
                continue
            try:
                new = replacement(self.pm, live.current, reapprove=self.watch.reapprove)
            except Exception as exc:  # the old version keeps running
                if not isinstance(exc, WiseflowError):  # a host bug: its traceback, in the log
                    log.info("reload of %s failed", plugin, exc_info=True)
                err = reload_error(exc, plugin)
                self._say("refused", f"{live.name}: change refused, the running version "
                          f"stays: error {err.code}: {err.message}", live, err)  # fmt: skip
                continue
            with self._lock:
                earlier = self._pending.pop(live.name, None)
                self._pending[live.name] = new
            if earlier is not None:
                earlier.release()
            when = "before its next batch" if live.current.kind == "processor" else (
                "when its current fetch is drained")  # fmt: skip
            self._say("pending", f"{live.name}: change checked; the new version takes over "
                      f"{when}", live, None)  # fmt: skip

    def _say(self, event: str, message: str, live: Live, err: WiseflowError | None) -> None:
        fields = {"event": event, "plugin": live.plugin, "instance": live.name,
                  "code": err.code if err else None, "hint": err.hint if err else None}  # fmt: skip
        log.info("%s", message, extra={"fields": fields})  # the notice is printed by notify
        if self.watch.notify is not None:
            self.watch.notify(message, fields)


def snapshot(root: str) -> Stamps | None:
    """``{relative path: (mtime_ns, size, inode)}`` of a plugin folder (no ``__pycache__``,
    no dot files); None when it holds more than :data:`MAX_FILES` files."""
    out: Stamps = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in files:
            if name.startswith("."):  # editors' swap and backup files
                continue
            path = os.path.join(folder, name)
            try:
                st = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            out[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size, st.st_ino)
            if len(out) > MAX_FILES:
                return None
    return out
