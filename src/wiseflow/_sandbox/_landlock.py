"""Landlock (raw syscalls): filesystem, TCP and scoping rules for the worker process.

Landlock restricts the calling thread and its future children, so it is applied before
the worker starts any thread. Rules only ever remove access; root is restricted too.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Iterable

from ._sys import PR_SET_NO_NEW_PRIVS, prctl, syscall

__all__ = ["abi_version", "restrict"]

_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# filesystem access rights, and the ABI that introduced them
_EXECUTE = 1 << 0
_WRITE_FILE = 1 << 1
_READ_FILE = 1 << 2
_READ_DIR = 1 << 3
_REMOVE_DIR = 1 << 4
_REMOVE_FILE = 1 << 5
_MAKE_CHAR = 1 << 6
_MAKE_DIR = 1 << 7
_MAKE_REG = 1 << 8
_MAKE_SOCK = 1 << 9
_MAKE_FIFO = 1 << 10
_MAKE_BLOCK = 1 << 11
_MAKE_SYM = 1 << 12
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_IOCTL_DEV = 1 << 15  # ABI 5

_FS_ABI1 = (1 << 13) - 1
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV

_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

READ_ONLY = _EXECUTE | _READ_FILE | _READ_DIR
READ_WRITE = (
    READ_ONLY
    | _WRITE_FILE
    | _REMOVE_DIR
    | _REMOVE_FILE
    | _MAKE_DIR
    | _MAKE_REG
    | _MAKE_SYM
    | _MAKE_FIFO
    | _MAKE_SOCK
    | _REFER
    | _TRUNCATE
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def abi_version() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is absent or disabled."""
    try:
        return syscall("landlock_create_ruleset", 0, 0, _CREATE_RULESET_VERSION)
    except OSError:
        return 0


def _handled_fs(abi: int) -> int:
    rights = _FS_ABI1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def restrict(
    read_only: Iterable[str],
    read_write: Iterable[str],
    *,
    list_only: Iterable[str] = (),
    abi: int | None = None,
) -> list[str]:
    """Allow only ``read_only`` and ``read_write`` paths (and no TCP) from now on, and the
    listing of ``list_only`` folders (their entries' names; Landlock applies it beneath).

    Paths that do not exist are skipped. Sets no-new-privs (Landlock requires it).

    Returns:
        What was restricted: ``fs``, and ``net`` (ABI >= 4), ``scope`` (ABI >= 6).

    Raises:
        OSError: Landlock is unavailable or refused the ruleset.
    """
    abi = abi_version() if abi is None else abi
    if abi < 1:
        raise OSError(errno.EOPNOTSUPP, "Landlock is not available")
    handled_fs = _handled_fs(abi)
    attr = _RulesetAttr(handled_fs, 0, 0)
    size = 8
    done = ["fs"]
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 16
        done.append("net")
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
        size = 24
        done.append("scope")
    ruleset = syscall("landlock_create_ruleset", ctypes.addressof(attr), size, 0)
    try:
        for paths, rights in (
            (read_only, READ_ONLY),
            (read_write, READ_WRITE),
            (list_only, _READ_DIR),
        ):
            for path in paths:
                _add_path(ruleset, path, rights & handled_fs)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        syscall("landlock_restrict_self", ruleset, 0)
    finally:
        os.close(ruleset)
    return done


def _add_path(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # absent paths grant nothing
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        syscall("landlock_add_rule", ruleset, _RULE_PATH_BENEATH, ctypes.addressof(rule), 0)
    finally:
        os.close(fd)
