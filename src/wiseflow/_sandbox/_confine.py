"""Confinement applied inside a worker, in the order of SANDBOX.md.

``confine(policy)`` runs once, in the fresh worker process, before any plugin code is
imported and before any thread starts. Each layer is tried; what was applied and what
failed (with the reason) are reported to the host, which decides whether a missing layer
refuses the plugin (WF305) or only warns (``allow_weaker_sandbox``).

Identity choice: when the worker starts as root it switches to an unprivileged uid/gid
chosen per plugin (so ``RLIMIT_NPROC`` is enforced and the host's processes cannot be
signalled or traced), keeping only ``CAP_DAC_READ_SEARCH`` and ``CAP_DAC_OVERRIDE`` so the
interpreter (pyenv keeps it under ``/root``, mode 0700) and the root-owned data dir stay
usable. Those two capabilities never widen what Landlock allows, and every other
capability, including the whole bounding set, is dropped.
"""

from __future__ import annotations

import errno
import math
import os
import resource
import signal
import sys
from collections.abc import Callable

import msgspec

from . import _landlock, _seccomp
from ._sys import capset, prctl, syscall

__all__ = ["LAYERS", "Confinement", "Policy", "confine", "plugin_uid", "system_read_paths"]

#: Layers a sandboxed worker needs, as named by the probe, ``Ready`` and WF305 messages.
LAYERS: tuple[str, ...] = ("rlimits", "netns", "landlock", "seccomp")

_PR_SET_PDEATHSIG = 1
_PR_SET_KEEPCAPS = 8
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CLONE_NEWNET = 0x40000000
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """What the host asks the worker to apply to itself."""

    host_pid: int
    read_only: list[str] = []
    read_write: list[str] = []
    memory_mb: int = 512
    cpu_seconds: float = 300.0
    max_open_files: int = 256
    max_file_mb: int = 1024
    max_procs: int = 64
    allow_exec: bool = False
    uid: int | None = None  # drop to this uid/gid when started as root
    disable: list[str] = []  # layers to skip, simulating a machine without them


class Confinement(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome: layers applied, and the reason for each one that was not."""

    applied: list[str]
    missing: dict[str, str]


def system_read_paths() -> list[str]:
    """Read-only paths the interpreter needs: its prefixes, ``sys.path`` and system libs."""
    paths: list[str] = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        paths.append(p)
    paths.append(os.path.dirname(os.path.realpath(sys.executable)))
    paths.extend(p for p in sys.path if p)
    paths.extend(
        (
            "/usr",
            "/lib",
            "/lib64",
            "/lib32",
            "/bin",
            "/etc/ssl",
            "/etc/ld.so.cache",
            "/etc/localtime",
            "/etc/timezone",
        )
    )
    seen: dict[str, None] = {}
    for p in paths:
        seen.setdefault(os.path.abspath(p), None)
    return list(seen)


_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def confine(policy: Policy) -> Confinement:
    """Apply every layer of ``policy`` to this process; never raises for a missing layer."""
    applied: list[str] = []
    missing: dict[str, str] = {}
    disabled = set(policy.disable)

    def attempt(name: str, fn: Callable[[], object]) -> None:
        if name in disabled:
            missing[name] = "disabled (WISEFLOW_SANDBOX_DISABLE)"
            return
        try:
            fn()
        except OSError as exc:
            missing[name] = exc.strerror or str(exc)
        else:
            applied.append(name)

    try:
        os.setsid()
        applied.append("setsid")
    except OSError:
        pass  # already a session leader
    attempt("rlimits", lambda: _rlimits(policy))
    attempt("netns", lambda: syscall("unshare", _CLONE_NEWNET))
    if os.geteuid() == 0 and policy.uid is not None and "uid" not in disabled:
        try:
            _drop_identity(policy.uid)
            applied.append("uid")
        except OSError as exc:
            missing["uid"] = exc.strerror or str(exc)
    prctl(_PR_SET_NO_NEW_PRIVS, 1)
    applied.append("no_new_privs")
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != policy.host_pid:
        os._exit(70)  # the host is already gone
    applied.append("pdeathsig")
    attempt("landlock", lambda: _landlock_rules(policy))
    attempt("seccomp", lambda: _seccomp.install_filter(allow_exec=policy.allow_exec))
    return Confinement(applied=applied, missing=missing)


def _landlock_rules(policy: Policy) -> None:
    read_only = [*system_read_paths(), *policy.read_only]
    _landlock.restrict(read_only, [*policy.read_write, *_DEVICES])


def _rlimits(policy: Policy) -> None:
    def cap(which: int, soft: int, hard: int | None = None) -> None:
        _, old_hard = resource.getrlimit(which)
        hard = soft if hard is None else hard
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(which, (soft, hard))

    mib = 1024 * 1024
    cap(resource.RLIMIT_AS, policy.memory_mb * mib)
    cpu = max(1, math.ceil(policy.cpu_seconds))
    cap(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU at soft, SIGKILL at hard
    cap(resource.RLIMIT_NOFILE, policy.max_open_files)
    cap(resource.RLIMIT_FSIZE, policy.max_file_mb * mib)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, policy.max_procs)


def _drop_identity(uid: int) -> None:
    """Become ``uid``:``uid`` with no groups and only the two DAC capabilities."""
    for cap in range(64):
        try:
            prctl(_PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                break  # past the last capability this kernel knows
            raise
    prctl(_PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    keep = (1 << _CAP_DAC_OVERRIDE) | (1 << _CAP_DAC_READ_SEARCH)
    capset(effective=keep, permitted=keep, inheritable=0)
    prctl(_PR_SET_KEEPCAPS, 0)
    try:
        prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass  # kernels before 4.3 have no ambient set


def plugin_uid(instance: str, base: int = 0x6F000000) -> int:
    """A stable unprivileged uid for ``instance`` (far above any real account)."""
    import zlib

    return base + zlib.crc32(instance.encode()) % 0x100000
