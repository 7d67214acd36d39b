"""Runtime behaviour monitoring inside a worker: a PEP 578 audit hook (monitoring, not a boundary).

:func:`install` adds an audit hook (``sys.addaudithook``) before the plugin is imported. It
notes what the plugin *attempts*: file opens outside its data dir, its own folder and the
runtime's files; sockets (``socket.__new__`` of network families, ``connect``, ``bind``,
``getaddrinfo``); process execution (``subprocess.Popen``, ``os.exec*``, ``os.system``,
``os.posix_spawn``, ``os.spawn``); native library loads (``ctypes.dlopen``); modules imported
from outside its folder and the runtime; and code compiled or executed from strings.

Cheap: the hook looks at the event name first (one frozenset lookup) and returns for every
other event. Bounded: per kind a count, the first :data:`SAMPLES` samples and at most
:data:`TARGETS` distinct targets (the rest counted as ``other``); flushed as one
:class:`~._messages.Telemetry` frame (a delta) with the worker's replies, at most once per
:data:`FLUSH_EVERY` seconds between them, and by a timer.

The outcome of an attempt is told where the hook can tell without side effects: a read-only
open is probed (``O_RDONLY|O_NONBLOCK``, never creating or truncating), a socket's creation
is probed (made and closed), and process execution is ``refused`` when the seccomp filter in
place denies ``execve`` (it is deterministic). Everything else is ``attempted`` only.

Audit hooks cannot be removed, but the plugin runs in this process: it can forge or
suppress its own telemetry. The host treats it as hostile data (bounded, sanitised) and
never as a verdict; the kernel's confinement is the boundary.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, final

from ._messages import End, Fail, Loaded, Result, Telemetry

__all__ = ["FLUSH_EVERY", "KINDS", "SAMPLES", "TARGETS", "Monitor", "install"]

#: The kinds of attempt reported.
KINDS = ("file", "network", "process", "native", "import", "code")
#: Samples kept per kind (the first ones), distinct targets counted per kind.
SAMPLES = 5
TARGETS = 32
#: Characters of a sample's text or target.
TEXT = 240
#: Seconds between two telemetry frames (replies flush no sooner either).
FLUSH_EVERY = 1.0

_REPLIES = (Result, Fail, End, Loaded)
_WATCHED = frozenset(
    {
        "open", "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
        "socket.gethostbyname", "subprocess.Popen", "os.exec", "os.system", "os.posix_spawn",
        "os.spawn", "ctypes.dlopen", "compile", "exec", "import",
    }
)  # fmt: skip
_PROCESS = {"subprocess.Popen", "os.exec", "os.system", "os.posix_spawn", "os.spawn"}
_NET_FAMILIES = {2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET"}
_MODULES = (".py", ".pyc", ".so", ".pth")
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = value if isinstance(value, str) else repr(value)
    return text[:TEXT]


@final
class Monitor:
    """The attempts seen since the last flush (see the module docstring)."""

    def __init__(self, exec_denied: bool) -> None:
        self.exec_denied = exec_denied
        self.lock = threading.Lock()
        self.local = threading.local()
        self.quiet: tuple[str, ...] = ()  # path prefixes not reported (runtime, data, folder)
        self.quiet_exact: frozenset[str] = frozenset()
        self.plugin_roots: tuple[str, ...] = ()  # the plugin's folder(s): its code is there
        self.active = False
        self.last_flush = 0.0
        self._reset()
        self.total_samples = dict.fromkeys(KINDS, 0)  # samples ever sent, per kind

    def _reset(self) -> None:
        self.counts: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.samples: dict[str, list[tuple[str, str, str]]] = {}
        self.targets: dict[str, dict[str, int]] = {}

    def configure(self, quiet: list[str], plugin_roots: list[str]) -> None:
        """Paths whose opens are not reported, and the plugin's own folders; start noting."""
        norm = {os.path.abspath(p) for p in quiet if p}
        self.quiet = (*sorted(p.rstrip("/") + "/" for p in norm), "/dev/")
        self.quiet_exact = frozenset(norm)
        self.plugin_roots = tuple(os.path.abspath(p) + "/" for p in plugin_roots if p)
        self.active = True

    # -- the hook ----------------------------------------------------------------------------

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in _WATCHED or not self.active:
            return
        if event == "open":  # the common case first: a file of its own (data dir, folder)
            path = args[0]
            if type(path) is str and path.startswith(self.quiet) and "/.." not in path:
                return
        local = self.local
        if getattr(local, "busy", False):  # the hook's own probes raise events too
            return
        local.busy = True
        try:
            found = self._classify(event, args)
            if found is not None:
                self.note(*found)
        except Exception:
            pass
        finally:
            local.busy = False

    def _quiet(self, path: str) -> bool:
        return path.startswith(self.quiet) or path in self.quiet_exact

    def _classify(self, event: str, args: tuple[Any, ...]) -> tuple[str, str, str, str] | None:
        """``(kind, what, target, outcome)`` of an attempt worth reporting, else None."""
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            if not isinstance(path, str | bytes):
                return None  # an fd: opened before
            full = os.path.abspath(os.fsdecode(path))
            if self._quiet(full):
                return None
            if full.endswith(_MODULES):  # a module imported (or read) from here
                return ("import", f"module file {full}", full, _probe_open(full, 0))
            flags = flags if isinstance(flags, int) else 0
            writes = isinstance(mode, str) and bool(set(mode) & set("wax+"))
            how = "write" if flags & _WRITE or writes else "read"
            outcome = _probe_open(full, flags) if how == "read" else "attempted"
            return ("file", f"open {full} ({how})", full, outcome)
        if event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            name = _NET_FAMILIES.get(family) if isinstance(family, int) else None
            if name is None:
                return None  # AF_UNIX pairs (asyncio) and sockets from fds
            return ("network", f"socket {name}", "", _probe_socket(args))
        if event in ("socket.connect", "socket.bind"):
            addr = args[1] if len(args) > 1 else None
            target = _address(addr)
            return ("network", f"{event.split('.')[1]} {target}", target, "attempted")
        if event == "socket.getaddrinfo":
            target = _address((args[0], args[1]))
            return ("network", f"getaddrinfo {target}", target, "attempted")
        if event == "socket.gethostbyname":
            return ("network", f"gethostbyname {_text(args[0])}", _text(args[0]), "attempted")
        if event in _PROCESS:
            what = f"{event} {_text(args[0] if event == 'os.system' else args[:2])}"
            return ("process", what, "", "refused" if self.exec_denied else "attempted")
        if event == "ctypes.dlopen":
            return ("native", f"dlopen {_text(args[0])}", _text(args[0]), "attempted")
        if event == "import":  # an extension module: its file is named here
            path = args[1] if len(args) > 1 else None
            if not isinstance(path, str) or self._quiet(os.path.abspath(path)):
                return None
            return ("import", f"import {_text(args[0])} from {path}", _text(path), "attempted")
        return self._code(event, args)

    def _code(self, event: str, args: tuple[Any, ...]) -> tuple[str, str, str, str] | None:
        """Code compiled or run from a string by the plugin's own code (not by an import,
        not by the runtime or the standard library generating code for it)."""
        if event == "compile":
            filename = args[1] if len(args) > 1 else None
        else:
            filename = getattr(args[0], "co_filename", None)
        name = os.fsdecode(filename) if isinstance(filename, str | bytes) else "<?>"
        if os.path.isabs(name):  # a file's code (an import or a module of its own)
            return None
        caller = sys._getframe(3).f_code.co_filename  # hook <- _classify/_code <- the caller
        if not caller.startswith(self.plugin_roots) and (
            caller.startswith("<frozen") or self._quiet(os.path.abspath(caller))
        ):
            return None  # the runtime or the standard library (dataclasses, namedtuple)
        return ("code", f"{event} of {name[:60]} from {os.path.basename(caller)}", "", "attempted")

    def note(self, kind: str, what: str, target: str, outcome: str) -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if outcome == "refused":
                self.refused[kind] = self.refused.get(kind, 0) + 1
            if self.total_samples[kind] < SAMPLES:
                self.total_samples[kind] += 1
                self.samples.setdefault(kind, []).append((what, target[:TEXT], outcome))
            if target:
                seen = self.targets.setdefault(kind, {})
                if target in seen or len(seen) < TARGETS:
                    seen[target] = seen.get(target, 0) + 1

    # -- flushing ----------------------------------------------------------------------------

    def frame_for(self, msg: object) -> Telemetry | None:
        """The frame to send before ``msg``: with every reply that ends a request, at most
        once per :data:`FLUSH_EVERY` with anything else; None when nothing is waiting."""
        if not self.counts or isinstance(msg, Telemetry):
            return None
        return self.frame(force=isinstance(msg, _REPLIES))

    def frame(self, *, force: bool) -> Telemetry | None:
        delta = self.take(force=force)
        return Telemetry(**delta) if delta is not None else None

    def take(self, *, force: bool = False) -> dict[str, Any] | None:
        """What was seen since the last take (a delta), or None when nothing or too soon."""
        now = time.monotonic()
        with self.lock:
            if not self.counts or (not force and now - self.last_flush < FLUSH_EVERY):
                return None
            out = {
                "counts": self.counts,
                "refused": self.refused,
                "samples": {k: [list(s) for s in v] for k, v in self.samples.items()},
                "targets": self.targets,
            }
            self._reset()
            self.last_flush = now
        return out


def _address(addr: Any) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        return _text(f"{_text(addr[0])}:{_text(addr[1])}")
    return _text(addr)


def _probe_open(path: str, flags: int) -> str:
    """Whether reading ``path`` is refused: opened read-only, non-blocking, then closed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        return "refused" if exc.errno in (errno.EACCES, errno.EPERM) else "failed"
    os.close(fd)
    return "allowed"


def _probe_socket(args: tuple[Any, ...]) -> str:
    """Whether creating this socket is refused (made and closed at once)."""
    import _socket

    family, kind, proto = ([*list(args[1:4]), -1, -1, -1])[:3]
    try:
        s = _socket.socket(
            family, kind if isinstance(kind, int) and kind > 0 else 1, max(0, proto or 0)
        )
    except OSError as exc:
        return "refused" if exc.errno in (errno.EACCES, errno.EPERM) else "failed"
    s.close()
    return "allowed"


def install(exec_denied: bool, send: Callable[[Telemetry], None]) -> Monitor:
    """Add the audit hook (for good: audit hooks cannot be removed) and a flush timer that
    sends what replies did not carry, every ``2 * FLUSH_EVERY`` seconds at most."""
    mon = Monitor(exec_denied)
    sys.addaudithook(mon.hook)

    def timer() -> None:
        while True:
            time.sleep(FLUSH_EVERY * 2)
            frame = mon.frame(force=False)
            if frame is not None:
                try:
                    send(frame)
                except Exception:
                    return  # the channel is gone: the worker is ending

    threading.Thread(target=timer, name="wiseflow-monitor", daemon=True).start()
    return mon


def watch(mon: Monitor, load: Any, read_write: list[str]) -> None:
    """Start noting, for the plugin ``load`` (a :class:`~._messages.Load`) describes: its
    data dir, folder, scratch space and the runtime's own files are not reported."""
    runtime = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    runtime.append(os.path.dirname(os.path.realpath(sys.executable)))
    runtime.extend(p for p in sys.path if p)
    folders = [p for p in (load.code_root, load.root) if p]
    mon.configure([*runtime, *read_write, load.data_dir, *folders], folders)
