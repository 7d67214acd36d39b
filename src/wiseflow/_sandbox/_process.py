"""One worker process as the host sees it: started, stopped, reaped, and its death explained.

Workers are started from one long-lived spawner thread, so that their parent-death signal
is tied to the host process rather than to whichever thread happened to load a plugin
(the kernel sends it when the *thread* that forked the child exits). A worker is forked
by the zygote when one runs (fast) or started as a fresh interpreter (cold); either way it
is a child of the host, in its own process group, and the host reaps it itself.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, final

from .._contract._errors import QuotaExceeded, WiseflowError, WorkerCrashed
from ._zygote import shared_zygote

__all__ = ["REAP_GRACE", "WorkerProcess", "death_error", "spawn"]

log = logging.getLogger("wiseflow.sandbox")

#: Seconds the host waits for a killed worker to exit before reaping it in the background.
REAP_GRACE = 5.0

_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def spawn(argv: list[str], **kw: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, **kw)``, run on the host's one spawner thread."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(1, thread_name_prefix="wiseflow-spawner")

    def popen() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, **kw)

    return _spawner.submit(popen).result()


@final
class WorkerProcess:
    """A started worker: its pid (also its process group) and its output pipe."""

    __slots__ = ("_popen", "out_fd", "pid")

    def __init__(self, pid: int, out_fd: int, popen: subprocess.Popen[bytes] | None) -> None:
        self.pid = pid
        self.out_fd = out_fd
        self._popen = popen

    @classmethod
    def start(
        cls, channel: tuple[int, int], *, cwd: str, env: dict[str, str], use_zygote: bool
    ) -> WorkerProcess:
        """A worker serving ``channel`` (the fds it reads and writes), forked by the
        zygote or else started cold."""
        zygote = shared_zygote(spawn) if use_zygote else None
        if zygote is not None:
            out_fd, out_w = os.pipe2(os.O_CLOEXEC)
            try:
                pid = zygote.fork_worker(channel, out_w, cwd=cwd, env=env)
            except OSError as exc:
                log.info("zygote unavailable (%s); starting a worker cold", exc)
                os.close(out_fd)
            else:
                return cls(pid, out_fd, None)
            finally:
                os.close(out_w)
        return cls._cold(channel, cwd=cwd, env=env)

    @classmethod
    def _cold(cls, channel: tuple[int, int], *, cwd: str, env: dict[str, str]) -> WorkerProcess:
        rfd, wfd = channel
        argv = [
            sys.executable,
            "-I",
            "-B",
            "-m",
            "wiseflow._sandbox._worker",
            str(wfd),  # first: what a plugin writing to argv[1] reaches is the host
            str(os.getpid()),
            str(rfd),
        ]
        proc = spawn(
            argv,
            pass_fds=(rfd, wfd),
            close_fds=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        assert proc.stdout is not None
        # the host reaps the worker itself; the pipe's fd is ours from now on
        out_fd = os.dup(proc.stdout.fileno())
        proc.stdout.close()
        return cls(proc.pid, out_fd, proc)

    def wait_exit(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the worker to exit, without reaping it."""
        end = time.monotonic() + seconds
        pause = 0.0002  # an exit after SIGKILL takes well under a millisecond: look soon
        while True:
            try:
                if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                    return True
            except ChildProcessError:
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    def stop(self, grace: float = REAP_GRACE) -> tuple[int | None, float]:
        """Kill the whole process group, reap the worker: (wait status, CPU seconds used).

        Waits at most ``grace`` seconds for the killed worker to exit (one stuck in the
        kernel may take longer); then a background thread reaps it and the host goes on.
        """
        status: int | None = None
        cpu = 0.0
        # the leader is not reaped yet, so its pid still names the group
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.wait_exit(grace):
            try:
                _, status, usage = os.wait4(self.pid, 0)
                cpu = usage.ru_utime + usage.ru_stime
            except ChildProcessError:
                pass
        else:
            log.warning(
                "worker %d did not exit %.1f s after SIGKILL; reaping it later", self.pid, grace
            )
            threading.Thread(target=_reap, args=(self.pid,), daemon=True).start()
        if self._popen is not None:  # tell Popen the child is reaped (no ResourceWarning)
            self._popen.returncode = -1 if status is None else os.waitstatus_to_exitcode(status)
        return status, cpu


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def death_error(
    name: str,
    status: int | None,
    cpu: float,
    tail: list[str],
    *,
    cpu_seconds: float,
    memory_mb: int,
    stopped_by_host: bool = False,
) -> WiseflowError:
    """What a worker's death means: WF403 for a quota, WF402 otherwise, with the reason.

    ``stopped_by_host``: the worker closed its channel but did not exit, so the host
    killed it; its exit status says nothing about the plugin then.
    """
    last = next((line for line in reversed(tail) if line.strip()), "")
    if stopped_by_host:
        return WorkerCrashed(
            f"the worker of plugin '{name}' closed its channel to the host without exiting; "
            "the host stopped it",
            plugin=name,
            hint=f"last output: {last}"
            if last
            else "the plugin closed or shut down the host "
            "channel; report it to the plugin's author",
        )
    if status is None:
        return WorkerCrashed(f"the worker of plugin '{name}' vanished", plugin=name)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        cpu_limited = sig == signal.SIGKILL and cpu >= cpu_seconds - 0.05
        if sig == signal.SIGXCPU or cpu_limited:
            return QuotaExceeded(
                f"plugin '{name}' used its CPU quota ({cpu_seconds:g} s); its worker was killed",
                plugin=name,
                hint="raise resources.cpu_seconds, or find the loop that spins",
            )
        try:
            signame = signal.Signals(sig).name
        except ValueError:
            signame = f"signal {sig}"
        why = " (a forbidden syscall ABI)" if sig == signal.SIGSYS else ""
        return WorkerCrashed(
            f"the worker of plugin '{name}' was killed by {signame}{why}",
            plugin=name,
            hint=f"last output: {last}" if last else "the plugin crashed the interpreter",
        )
    code = os.WEXITSTATUS(status)
    if any("MemoryError" in line for line in tail):
        return QuotaExceeded(
            f"plugin '{name}' ran out of its memory quota ({memory_mb} MB); its worker exited",
            plugin=name,
            hint="raise resources.memory_mb, or process smaller batches",
        )
    return WorkerCrashed(
        f"the worker of plugin '{name}' exited with status {code}",
        plugin=name,
        hint=f"last output: {last}" if last else "the plugin ended its own process",
    )
