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

When the worker starts as an ordinary user there is no identity to change (it already is
unprivileged), but ``unshare(CLONE_NEWNET)`` needs a capability it lacks. So, first of
all, it enters a new user namespace together with the network namespace
(``unshare(CLONE_NEWUSER | CLONE_NEWNET)``), maps its own uid and gid to themselves
(``setgroups`` denied first, as the kernel requires), and drops every capability the new
namespace gave it. Doing this before the rlimits also makes ``RLIMIT_NPROC`` count only
the worker's own processes (the kernel counts per user namespace), not every process of
the user. The seccomp filter, loaded last, refuses ``unshare`` from then on.
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
from ._sys import (
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAPBSET_DROP,
    PR_SET_KEEPCAPS,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    capset,
    prctl,
    syscall,
)

__all__ = [
    "LAYERS",
    "Confinement",
    "Policy",
    "confine",
    "enter_private_network",
    "plugin_uid",
    "system_read_paths",
    "userns_diagnosis",
]

#: Layers a sandboxed worker needs, as named by the probe, ``Ready`` and WF305 messages.
LAYERS: tuple[str, ...] = ("rlimits", "netns", "landlock", "seccomp")

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """What the host asks the worker to apply to itself."""

    host_pid: int
    read_only: list[str] = []
    read_write: list[str] = []
    list_only: list[str] = []  # folders whose entries may be listed, not read (_carve)
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
            "/etc/ssl/certs",
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
    if os.geteuid() == 0:
        attempt("rlimits", lambda: _rlimits(policy))
        attempt("netns", lambda: syscall("unshare", _CLONE_NEWNET))
    else:  # the user namespace comes first: see the module's docstring
        if "netns" in disabled:
            missing["netns"] = "disabled (WISEFLOW_SANDBOX_DISABLE)"
        elif "userns" in disabled:
            missing["netns"] = (
                "a non-root worker needs a user namespace for it, and userns is disabled "
                "(WISEFLOW_SANDBOX_DISABLE)"
            )
        else:
            try:
                enter_private_network()
            except OSError as exc:
                missing["netns"] = str(exc.strerror or exc)
            else:
                applied += ["userns", "netns"]
        attempt("rlimits", lambda: _rlimits(policy))
    if os.geteuid() == 0 and policy.uid is not None and "uid" not in disabled:
        try:
            _drop_identity(policy.uid)
            applied.append("uid")
        except OSError as exc:
            missing["uid"] = exc.strerror or str(exc)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    applied.append("no_new_privs")
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != policy.host_pid:
        os._exit(70)  # the host is already gone
    applied.append("pdeathsig")
    attempt("landlock", lambda: _landlock_rules(policy, missing))
    attempt("seccomp", lambda: _seccomp.install_filter(allow_exec=policy.allow_exec))
    return Confinement(applied=applied, missing=missing)


def enter_private_network() -> None:
    """Give this process a private network namespace; for non-root via a user namespace.

    As root: ``unshare(CLONE_NEWNET)``. Otherwise: ``unshare(CLONE_NEWUSER |
    CLONE_NEWNET)``, uid and gid mapped to themselves, then every capability dropped.
    Must run while the process has a single thread.

    Raises:
        OSError: the kernel refused; ``strerror`` says why, precisely enough for an
            operator (which step failed, and the sysctl or LSM that blocks it if known).
    """
    if os.geteuid() == 0:
        syscall("unshare", _CLONE_NEWNET)
        return
    uid, gid = os.geteuid(), os.getegid()
    try:
        syscall("unshare", _CLONE_NEWUSER | _CLONE_NEWNET)
    except OSError as exc:
        raise OSError(exc.errno, userns_diagnosis(exc)) from None
    try:
        _write_proc("/proc/self/setgroups", "deny")
        _write_proc("/proc/self/gid_map", f"{gid} {gid} 1\n")
        _write_proc("/proc/self/uid_map", f"{uid} {uid} 1\n")
    except OSError as exc:
        why = userns_diagnosis(exc, step="writing its uid/gid map")
        try:
            _drop_capabilities(keep=0)  # whatever the new namespace gave, it keeps none
        except OSError:
            pass
        raise OSError(exc.errno, why) from None
    _drop_capabilities(keep=0)


def _write_proc(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


#: Kernel switches that forbid user namespaces to ordinary users, and what each one means.
_USERNS_SWITCHES = (
    ("user/max_user_namespaces", "0", "user namespaces are disabled"),
    ("kernel/unprivileged_userns_clone", "0", "unprivileged user namespaces are disabled"),
    (
        "kernel/apparmor_restrict_unprivileged_userns",
        "1",
        "AppArmor restricts unprivileged user namespaces",
    ),
)


def userns_diagnosis(
    exc: OSError | None = None, *, step: str = "", sysctl: str = "/proc/sys"
) -> str:
    """Why a non-root process cannot have a private network namespace here, precisely.

    Names the first kernel switch (under ``sysctl``) that forbids user namespaces to
    ordinary users; otherwise the failed call and its error, and where to look.
    """
    for name, bad, meaning in _USERNS_SWITCHES:
        try:
            with open(os.path.join(sysctl, name)) as f:
                value = f.read().strip()
        except OSError:
            continue
        if value == bad:
            return f"{meaning} ({sysctl}/{name} = {value})"
    call = "unshare(CLONE_NEWUSER | CLONE_NEWNET)"
    what = f"{call} succeeded but {step} failed" if step else f"{call} failed"
    code = exc.errno if exc is not None else None
    err = f" ({errno.errorcode.get(code or 0, code)}: {exc.strerror})" if exc else ""
    if code in (errno.ENOSPC, errno.EUSERS):
        hint = "the limit on user namespaces is reached (user.max_user_namespaces, or 32 levels)"
    elif code == errno.EINVAL:
        hint = "the process was threaded or chrooted"
    else:
        hint = "check user.max_user_namespaces, an LSM (AppArmor, SELinux) or a container's policy"
    return f"{what}{err}: {hint}; a non-root worker needs a user namespace for a private network"


def _landlock_rules(policy: Policy, missing: dict[str, str]) -> None:
    read_only = [*system_read_paths(), *policy.read_only]
    done = _landlock.restrict(
        read_only, [*policy.read_write, *_DEVICES], list_only=policy.list_only
    )
    if "scope" not in done and os.geteuid() != 0:
        # A non-root worker keeps its host's uid: only Landlock's signal scoping (ABI 6)
        # stops it from signalling the host. Said, not hidden (the host logs it).
        missing["signal_scope"] = (
            "Landlock ABI < 6: a worker of a non-root host can signal processes of its user"
        )


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
    _drop_bounding_set()
    prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _drop_capabilities(keep=(1 << _CAP_DAC_OVERRIDE) | (1 << _CAP_DAC_READ_SEARCH))
    prctl(PR_SET_KEEPCAPS, 0)


def _drop_bounding_set() -> None:
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                break  # past the last capability this kernel knows
            raise


def _drop_capabilities(keep: int) -> None:
    """Keep only ``keep`` (a mask) in the effective and permitted sets; clear the rest."""
    if keep == 0:
        _drop_bounding_set()
    capset(effective=keep, permitted=keep, inheritable=0)
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass  # kernels before 4.3 have no ambient set


def plugin_uid(instance: str, base: int = 0x6F000000) -> int:
    """A stable unprivileged uid for ``instance`` (far above any real account)."""
    import zlib

    return base + zlib.crc32(instance.encode()) % 0x100000
