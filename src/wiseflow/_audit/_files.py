"""Which files of a plugin the audit reads, and what it refuses because it cannot read it.

Every file an entry can reach is read, ``tests/`` included: ``.py`` sources (regular files,
UTF-8, bounded), bytecode that Python would load instead of its source, native extensions.
Hidden folders (``.git``, ``.venv``) cannot be imported as packages and are skipped; a
symlinked folder is refused, since the walk does not follow it and an import would.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

from .._toml import read_limited
from ._scope import Finding

__all__ = ["Item", "plugin_files"]

MAX_FILE: Final = 4 << 20
MAX_FILES: Final = 5000
_NATIVE: Final = (".so", ".pyd", ".dylib", ".dll")
_BYTECODE: Final = (".pyc", ".pyo")


class Item(NamedTuple):
    """A file of the plugin: its source when readable, else why it is refused."""

    path: Path
    source: str | None
    refused: Finding | None = None


def _refuse(path: Path, rule: str, severity: str, message: str) -> Item:
    return Item(path, None, Finding(rule, severity, message, 0))


def _read(path: Path) -> Item:
    try:
        data = read_limited(path, MAX_FILE)
    except OSError as exc:
        why = {errno.EFBIG: f"is larger than {MAX_FILE} bytes", errno.EINVAL: "is not a regular "
               "file"}.get(exc.errno or 0, f"cannot be read ({exc.strerror or exc})")  # fmt: skip
        return _refuse(path, "unreadable", "high", f"cannot be audited: {why}")
    try:
        return Item(path, data.decode("utf-8-sig"))  # Python accepts a leading BOM
    except UnicodeDecodeError:
        return _refuse(path, "unreadable", "high", "cannot be audited: not UTF-8 source")


def _head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a regular file (a FIFO or device is refused, not read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"{path} is not a regular file")
        return os.read(fd, size)
    finally:
        os.close(fd)


def _bytecode(path: Path) -> Item | None:
    """A refusal for bytecode Python would run instead of (or without) its source."""
    in_cache = path.parent.name == "__pycache__"
    stem = path.name.split(".", 1)[0]
    source = (path.parent.parent if in_cache else path.parent) / f"{stem}.py"
    if not source.exists():
        return _refuse(path, "compiled-code", "high", "ships bytecode without its source")
    if not in_cache:
        return None  # the source beside it wins
    try:
        head = _head(path, 16)
    except OSError:
        return _refuse(path, "unreadable", "high", "cannot be audited: unreadable bytecode")
    if head[:4] != importlib.util.MAGIC_NUMBER or len(head) < 16:
        return None  # another interpreter's cache: this one ignores it
    flags = int.from_bytes(head[4:8], "little")
    if flags & 0b01 and not flags & 0b10:
        return _refuse(path, "compiled-code", "high", "ships unchecked-hash bytecode that runs "
                       "whatever its source says")  # fmt: skip
    if flags & 0b01:
        try:
            digest = importlib.util.source_hash(read_limited(source, MAX_FILE))
        except OSError:
            return None  # the source itself is reported
        if digest != head[8:16]:
            return _refuse(path, "compiled-code", "high", "ships bytecode that differs from "
                           "its source")  # fmt: skip
    return None


def plugin_files(root: Path) -> Iterator[Item]:
    """The plugin's files in a stable order, each readable source or a refusal."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        keep = []
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                yield _refuse(here / name, "unreadable", "high", "cannot be audited: a "
                              "symlinked folder")  # fmt: skip
            elif not name.startswith("."):
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            count += 1
            if count > MAX_FILES:
                yield _refuse(root, "unreadable", "high", f"has more than {MAX_FILES} files")
                return
            path = here / name
            suffix = path.suffix.lower()
            if suffix in _NATIVE:
                yield _refuse(path, "native-code", "critical", "ships a native extension the "
                              "audit cannot read")  # fmt: skip
            elif suffix in _BYTECODE:
                refused = _bytecode(path)
                if refused:
                    yield refused
            elif suffix in (".py", ".pyw"):
                yield _read(path)
