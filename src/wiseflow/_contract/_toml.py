"""Reading TOML written by someone else (manifests, pipelines, operator config) safely.

Hostile input must become a clear error, never a crash of the host: files are size-capped
and nesting too deep for the parser is reported like any other syntax error.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from typing import Any

__all__ = ["MAX_TOML_BYTES", "TomlProblem", "loads", "read_limited"]

#: Larger files are refused unread; real manifests and pipelines are a few KiB.
MAX_TOML_BYTES = 1 << 20


class TomlProblem(ValueError):
    """Why a TOML text could not be read, with the line when the parser knows it."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def loads(text: str) -> dict[str, Any]:
    """``tomllib.loads`` with a size cap; every failure is a :class:`TomlProblem`."""
    if len(text) > MAX_TOML_BYTES:
        raise TomlProblem(f"larger than {MAX_TOML_BYTES} bytes; refused unread", None)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise TomlProblem(f"not valid TOML: {exc}", int(m.group(1)) if m else None) from None
    except RecursionError:
        raise TomlProblem("nested too deeply to be read", None) from None


def read_limited(path: str | os.PathLike[str], limit: int = MAX_TOML_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``OSError`` otherwise.

    Opened without blocking and checked on the open descriptor, so a FIFO, a device
    (a symlink to /dev/zero) or a huge sparse file is refused instead of hanging the host.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{os.fspath(path)} is not a regular file")
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"{os.fspath(path)} is larger than {limit} bytes")
        chunks = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"{os.fspath(path)} is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
