"""A zygote: a clean, pre-started process that forks new workers in about a millisecond.

The zygote is started like a worker (fresh ``Popen``, clean environment, only its control
socket open) and holds nothing of the host: it imports the worker runtime and waits. For
each new worker the host sends it the worker's channel end and output pipe (SCM_RIGHTS);
the zygote forks with ``CLONE_PARENT`` so that the worker is the *host's* child — the host
reaps it, reads its exit status and CPU time, and its parent-death signal follows the host
— and the child confines itself exactly as a cold-started worker does.

The zygote is never confined (it must be able to create namespaces for its children) and
never runs plugin code. When it cannot be started or dies, runners fall back to cold starts.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from typing import Any

import msgspec

__all__ = ["Zygote", "shared_zygote", "warm_shared_zygote"]

_CLONE_PARENT = 0x00008000
_REPLY = struct.Struct(">q")


class _Request(msgspec.Struct, frozen=True):
    cwd: str
    env: dict[str, str]
    host_pid: int


class Zygote:
    """The host's handle on one zygote process. Thread-safe; one request at a time."""

    def __init__(self, spawn: Any) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc: subprocess.Popen[bytes] = spawn(
                [
                    sys.executable,
                    "-I",
                    "-B",
                    "-m",
                    "wiseflow._sandbox._zygote",
                    str(child.fileno()),
                    str(os.getpid()),
                ],
                pass_fds=(child.fileno(),),
                close_fds=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
                cwd="/",
                start_new_session=True,
            )
        finally:
            child.close()
        self._sock = parent
        self.owner = os.getpid()
        self._lock = threading.Lock()
        self._sock.settimeout(10)
        ready = self._sock.recv(1)
        if ready != b"R":
            self.close()
            raise OSError("the zygote did not start")

    @property
    def pid(self) -> int:
        return self._proc.pid

    def fork_worker(
        self, channel: tuple[int, int], out_fd: int, *, cwd: str, env: dict[str, str]
    ) -> int:
        """A new worker process (a child of this host) serving ``channel`` (the fds it
        reads and writes)."""
        body = msgspec.msgpack.encode(_Request(cwd=cwd, env=env, host_pid=os.getpid()))
        with self._lock:
            self._sock.sendmsg(
                [struct.pack(">I", len(body)) + body],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("iii", *channel, out_fd))],
            )
            data = b""
            while len(data) < _REPLY.size:
                more = self._sock.recv(_REPLY.size - len(data))
                if not more:
                    raise OSError("the zygote exited")
                data += more
        (pid,) = _REPLY.unpack(data)
        if pid < 0:
            raise OSError(-pid, f"the zygote could not fork: {os.strerror(-pid)}")
        return int(pid)

    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self) -> None:
        self._sock.close()
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()


_shared: Zygote | None = None
_shared_lock = threading.Lock()


def _close_shared() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


def warm_shared_zygote(spawn: Any) -> None:
    """Start this host's zygote in the background: its interpreter boots (~0.1 s) while
    the host does other work. The first worker waits for it as before (its lock); a
    failure is logged, and the first worker starts it (or starts cold) and reports."""

    def warm() -> None:
        try:
            shared_zygote(spawn)
        except Exception as exc:
            import logging

            logging.getLogger("wiseflow.sandbox").debug("zygote warm-up failed: %s", exc)

    threading.Thread(target=warm, name="wiseflow-zygote-warm", daemon=True).start()


def shared_zygote(spawn: Any) -> Zygote | None:
    """This host's zygote, started on first use; None when one cannot run here."""
    global _shared
    with _shared_lock:
        if _shared is not None and _shared.owner != os.getpid():
            _shared = None  # a forked copy of the host: that zygote's children are not ours
        if _shared is not None and not _shared.alive():
            _shared.close()
            _shared = None
        if _shared is None:
            try:
                _shared = Zygote(spawn)
            except OSError:
                return None
            atexit.register(_close_shared)
        return _shared


# -- the zygote process ---------------------------------------------------------------------


def _clone_parent() -> int:
    """fork(), except that the child's parent is our parent (the host)."""
    from ._sys import syscall

    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    try:
        pid = syscall("clone", _CLONE_PARENT | signal.SIGCHLD, 0, 0, 0, 0)
    except OSError:
        api.PyOS_AfterFork_Parent()
        raise
    if pid == 0:
        api.PyOS_AfterFork_Child()
    else:
        api.PyOS_AfterFork_Parent()
    return pid


def _recv_request(ctl: socket.socket) -> tuple[_Request, list[int]] | None:
    fds: list[int] = []
    header = b""
    while len(header) < 4:
        data, anc, _, _ = ctl.recvmsg(4 - len(header), socket.CMSG_SPACE(12))
        if not data:
            return None
        header += data
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(struct.unpack(f"{len(payload) // 4}i", payload))
    (size,) = struct.unpack(">I", header)
    body = b""
    while len(body) < size:
        more = ctl.recv(size - len(body))
        if not more:
            return None
        body += more
    return msgspec.msgpack.decode(body, type=_Request), fds


def _child(ctl: socket.socket, req: _Request, fds: list[int]) -> None:  # pragma: no cover
    rfd, wfd, out_fd = fds
    ctl.close()
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(devnull)
    os.close(out_fd)
    os.chdir(req.cwd)
    os.environ.clear()
    os.environ.update(req.env)
    from ._worker import main

    argv = ["wiseflow-worker", str(wfd), str(req.host_pid), str(rfd)]
    sys.argv[:] = argv  # as a cold-started worker sees it
    code = 1
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()  # to the output pipe: the host shows the last line
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main(argv: list[str]) -> int:  # pragma: no cover - runs in the zygote process
    ctl = socket.socket(fileno=int(argv[1]))
    host_pid = int(argv[2])
    from ._sys import PR_SET_PDEATHSIG, prctl

    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != host_pid:
        return 1
    # What every worker needs, imported once here and shared copy-on-write.
    import wiseflow._contract._config
    import wiseflow._contract._interface
    import wiseflow._contract._loader
    import wiseflow._sandbox._worker  # noqa: F401

    ctl.sendall(b"R")
    while True:
        got = _recv_request(ctl)
        if got is None:
            return 0
        req, fds = got
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            ctl.sendall(_REPLY.pack(-22))  # EINVAL
            continue
        try:
            pid = _clone_parent()
        except OSError as exc:
            pid = -(exc.errno or 1)
        if pid == 0:
            _child(ctl, req, fds)
        for fd in fds:
            os.close(fd)
        ctl.sendall(_REPLY.pack(pid))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
