"""Which files of a plugin the audit reads, and what it refuses because it cannot read it.

Every file an entry can reach is read, ``tests/`` included: ``.py`` sources (regular files,
UTF-8, bounded), bytecode without its source, native extensions. ``__pycache__`` is skipped:
the loader never runs bytecode from a plugin's tree (:mod:`wiseflow._contract._loader`). Hidden
folders (``.git``, ``.venv``) cannot be imported as packages and are skipped; a symlinked
folder is refused, since the walk does not follow it and an import would.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

from ..._contract._toml import read_limited
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


def _bytecode(path: Path) -> Item | None:
    """A refusal for bytecode without its source (the loader refuses to run it too)."""
    source = path.parent / f"{path.name.split('.', 1)[0]}.py"
    if source.exists():
        return None  # the source beside it is what runs
    return _refuse(path, "compiled-code", "high", "ships bytecode without its source")


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
            elif not name.startswith(".") and name != "__pycache__":
                keep.append(name)  # __pycache__: plugin modules always load from source
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
