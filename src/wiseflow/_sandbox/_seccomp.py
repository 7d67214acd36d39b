"""A seccomp-BPF filter built by hand (no libseccomp): deny what a plugin never needs.

The filter kills the process on a foreign syscall ABI (i386, x32), answers ``clone3``
with ENOSYS so libc falls back to ``clone`` (whose flags a classic BPF filter can read),
refuses ``clone`` with any ``CLONE_NEW*`` flag or ``CLONE_PARENT`` (a child handed to the
host, which would hold its zombie) and ``prctl(PR_SET_PDEATHSIG)`` (the worker keeps dying
with its host), allows the calls that set another process's limits, priority, CPUs or
scheduling on the caller only (:data:`SELF_ONLY`), and refuses with EPERM: ``socket`` (every
family; ``socketpair`` stays allowed for the IPC channel and asyncio), ``execve`` and
``execveat`` unless the plugin was granted ``subprocess``, tracing and cross-process memory,
io_uring (it would bypass the socket rule), bpf, perf, keyrings, userfaultfd, namespaces,
mounts, module loading, leaving the worker's session (``setsid``/``setpgid``, so that a
process-group kill reaches every descendant) and System V IPC and message queues (kernel
objects no path rule covers, which outlive the worker and are shared by uid).
"""

from __future__ import annotations

import ctypes
import errno

from ._sys import ARCH, NR, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, prctl, syscall

__all__ = ["DENIED", "SELF_ONLY", "build_filter", "install_filter", "supported"]

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0_LO = 16  # little-endian low word of args[0]; args[i] at 16 + 8 * i

_CLONE_NEW = (
    0x00000080  # NEWTIME
    | 0x00020000  # NEWNS
    | 0x02000000  # NEWCGROUP
    | 0x04000000  # NEWUTS
    | 0x08000000  # NEWIPC
    | 0x10000000  # NEWUSER
    | 0x20000000  # NEWPID
    | 0x40000000  # NEWNET
)
#: A child whose parent is the worker's parent (the host): the host would hold zombies it
#: never reaps, and an embedding program's ``os.wait`` would be handed the plugin's child.
_CLONE_PARENT = 0x00008000
#: ``clone`` flags refused (EPERM): a new namespace, or a child given to the host.
_CLONE_DENIED = _CLONE_NEW | _CLONE_PARENT

_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1

#: Syscalls refused with EPERM for every plugin.
DENIED: tuple[str, ...] = (
    "socket",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "name_to_handle_at",
    "open_by_handle_at",
    "pidfd_getfd",
    "kcmp",
    "personality",
    "syslog",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "quotactl",
    "vhangup",
    "setsid",
    "setpgid",
    # anonymous memory files are not bounded by RLIMIT_AS: a way round the memory quota
    "memfd_create",
    "memfd_secret",
    # metadata writes Landlock does not cover (any file: a covert channel, tampering)
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "setxattrat",
    "removexattrat",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    # System V IPC and POSIX message queues: objects outside every path rule that outlive
    # the worker (memory beside the quota, a channel between plugins) and, by id, objects
    # of the host's uid (a non-root worker has the operator's own uid)
    "shmget",
    "shmat",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_open",
    "mq_unlink",
    # watches report the names of files created or opened in folders Landlock keeps the
    # worker from listing (under a non-root host: any of the operator's folders)
    "inotify_add_watch",
    "fanotify_init",
    "fanotify_mark",
    # whole-file-system flushes: a loop of them stalls every other process's writes (a
    # plugin's own files are flushed with fsync/fdatasync, which stay)
    "sync",
    "syncfs",
)
#: Calls that may name another process, allowed only on the caller itself: ``(syscall,
#: ((argument, the only value allowed), ...))``. Landlock's scope covers signals, not these:
#: under a non-root host the worker has the host's uid, and could lower the host's limits
#: (``prlimit``: RLIMIT_CPU kills it), renice it, pin it to one CPU, make it SCHED_IDLE or
#: give it idle I/O priority.
SELF_ONLY: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("prlimit64", ((0, 0),)),  # pid 0: this process
    ("setpriority", ((0, 0), (1, 0))),  # PRIO_PROCESS, pid 0 (not a group, not a user)
    ("sched_setaffinity", ((0, 0),)),
    ("sched_setscheduler", ((0, 0),)),
    ("sched_setparam", ((0, 0),)),
    ("sched_setattr", ((0, 0),)),
    ("ioprio_set", ((0, 1), (1, 0))),  # IOPRIO_WHO_PROCESS, pid 0
)
_EXEC = ("execve", "execveat")


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def supported() -> bool:
    """Whether this module knows the syscall numbers of this architecture."""
    return ARCH == "x86_64"


def build_filter(*, allow_exec: bool) -> list[tuple[int, int, int, int]]:
    """The filter program as ``(code, jt, jf, k)`` instructions."""
    prog: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, _OFF_ARCH),
        (_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, _OFF_NR),
        (_JGE_K, 0, 1, _X32_SYSCALL_BIT),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),
    ]
    deny = DENIED if allow_exec else DENIED + _EXEC
    for name in deny:
        prog.append((_JEQ_K, 0, 1, NR[name]))
        prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))
    prog.append((_JEQ_K, 0, 1, NR["clone3"]))
    prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS))
    for name, wanted in SELF_ONLY:  # each block returns on every path (the args replace nr)
        n = len(wanted)
        prog.append((_JEQ_K, 0, 2 * n + 2, NR[name]))
        for i, (arg, value) in enumerate(wanted):
            prog.append((_LD_W_ABS, 0, 0, _OFF_ARG0_LO + 8 * arg))  # ints: the low word
            prog.append((_JEQ_K, 0, 2 * (n - 1 - i) + 1, value))
        prog.append((_RET_K, 0, 0, _RET_ALLOW))
        prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))
    # prctl(PR_SET_PDEATHSIG): the worker's death signal (SIGKILL when its host dies) stays;
    # cleared, a worker busy in a call would outlive a killed host. Every other option is
    # allowed: both paths return, as the argument replaced the syscall number.
    prog.append((_JEQ_K, 0, 4, NR["prctl"]))
    prog.append((_LD_W_ABS, 0, 0, _OFF_ARG0_LO))
    prog.append((_JEQ_K, 0, 1, PR_SET_PDEATHSIG))
    prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))
    prog.append((_RET_K, 0, 0, _RET_ALLOW))
    # clone: refuse any namespace flag and CLONE_PARENT; the last block, so "no flag" falls
    # to ALLOW.
    prog.append((_JEQ_K, 0, 3, NR["clone"]))
    prog.append((_LD_W_ABS, 0, 0, _OFF_ARG0_LO))
    prog.append((_JSET_K, 0, 1, _CLONE_DENIED))
    prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))
    prog.append((_RET_K, 0, 0, _RET_ALLOW))
    return prog


def install_filter(*, allow_exec: bool) -> None:
    """Set no-new-privs and load the filter on every thread of this process (TSYNC).

    Raises:
        OSError: the kernel refused (no seccomp, or a thread could not be synchronised).
    """
    if not supported():
        raise OSError(errno.ENOSYS, f"seccomp filter not built for {ARCH}")
    prog = build_filter(allow_exec=allow_exec)
    array = (_SockFilter * len(prog))(*(_SockFilter(*ins) for ins in prog))
    fprog = _SockFprog(len(prog), array)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    tid = syscall(
        "seccomp", _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC, ctypes.addressof(fprog)
    )
    if tid != 0:  # TSYNC names the thread it could not synchronise
        raise OSError(errno.EBUSY, f"seccomp TSYNC failed for thread {tid}")
