"""Thin ctypes bindings to the Linux calls confinement needs.

Only what Python 3.11's ``os`` module lacks: ``prctl``, ``syscall`` (Landlock, seccomp,
``unshare``) and ``capset``. Every function raises ``OSError`` with the kernel's errno.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = [
    "ARCH",
    "NR",
    "PR_CAPBSET_DROP",
    "PR_CAP_AMBIENT",
    "PR_CAP_AMBIENT_CLEAR_ALL",
    "PR_SET_KEEPCAPS",
    "PR_SET_NAME",
    "PR_SET_NO_NEW_PRIVS",
    "PR_SET_PDEATHSIG",
    "capset",
    "prctl",
    "syscall",
]

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_prctl = _libc.prctl
_prctl.restype = ctypes.c_int
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

ARCH = platform.machine()

# prctl(2) options (linux/prctl.h), the same on every architecture.
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4  # the PR_CAP_AMBIENT sub-operation

# x86_64 syscall numbers. Other architectures get Landlock only: the probe reports seccomp
# as unavailable there rather than guessing numbers.
_NR_X86_64 = {
    "socket": 41,
    "socketpair": 53,
    "clone": 56,
    "fork": 57,
    "vfork": 58,
    "execve": 59,
    "kill": 62,
    "ptrace": 101,
    "syslog": 103,
    "setpgid": 109,
    "setsid": 112,
    "personality": 135,
    "vhangup": 153,
    "pivot_root": 155,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "iopl": 172,
    "ioperm": 173,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "tkill": 200,
    "clock_settime": 227,
    "tgkill": 234,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "seccomp": 317,
    "memfd_create": 319,
    "kexec_file_load": 320,
    "bpf": 321,
    "execveat": 322,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_open": 434,
    "clone3": 435,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
    "memfd_secret": 447,
    "setxattrat": 463,
    "removexattrat": 466,
    "utime": 132,
    "utimes": 235,
    "futimesat": 261,
    "utimensat": 280,
    "setxattr": 188,
    "lsetxattr": 189,
    "fsetxattr": 190,
    "removexattr": 197,
    "lremovexattr": 198,
    "fremovexattr": 199,
    "landlock_create_ruleset": 444,
    "landlock_add_rule": 445,
    "landlock_restrict_self": 446,
    "shmget": 29,
    "shmat": 30,
    "shmctl": 31,
    "semget": 64,
    "semop": 65,
    "semctl": 66,
    "msgget": 68,
    "msgsnd": 69,
    "msgrcv": 70,
    "msgctl": 71,
    "semtimedop": 220,
    "mq_open": 240,
    "mq_unlink": 241,
    "prctl": 157,
    "setpriority": 141,
    "sched_setparam": 142,
    "sched_setscheduler": 144,
    "sched_setaffinity": 203,
    "ioprio_set": 251,
    "inotify_add_watch": 254,
    "fanotify_init": 300,
    "fanotify_mark": 301,
    "sync": 162,
    "syncfs": 306,
    "prlimit64": 302,
    "sched_setattr": 314,
}
# Landlock's numbers are the same on every architecture (the unified syscall table).
_GENERIC = {
    "landlock_create_ruleset": 444,
    "landlock_add_rule": 445,
    "landlock_restrict_self": 446,
}
NR: dict[str, int] = _NR_X86_64 if ARCH == "x86_64" else _GENERIC


def _check(result: int) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def syscall(name: str, *args: int | ctypes.c_void_p | ctypes.Array[ctypes.c_char]) -> int:
    """``syscall(NR[name], *args)``; raises OSError (ENOSYS when the arch is unknown)."""
    nr = NR.get(name)
    if nr is None:
        raise OSError(38, f"{name}: no syscall number for {ARCH}")
    c_args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return _check(int(_syscall(ctypes.c_long(nr), *c_args)))


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    """``prctl(2)``; raises OSError."""
    return _check(int(_prctl(option, a2, a3, a4, a5)))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def capset(effective: int, permitted: int, inheritable: int = 0) -> None:
    """Set this thread's capability sets (64-bit masks, ``_LINUX_CAPABILITY_VERSION_3``)."""
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(int(_libc.capset(ctypes.byref(header), ctypes.byref(data))))
