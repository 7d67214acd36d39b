"""The content of a plugin: SHA-256 of every file of its folder, and what changed since.

A plugin's files are everything under the folder holding its ``plugin.toml``: sources,
data, bytecode and native files alike. Symlinks are recorded as links (their target text),
never followed out of the folder. ``__pycache__`` folders are the one exception: wiseflow
never loads bytecode from a plugin's tree (see :mod:`wiseflow._contract._loader`), and Python itself
writes them, so they are neither hashed nor trusted.

Hashing is cached by stat stamp (size, mtime, ctime, inode), so verifying a large plugin
that did not change costs one ``stat`` per file. Files changed within the last two seconds
are always re-hashed: a same-size edit inside one timestamp tick cannot hide.

This module is imported by sandbox workers: standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "MAX_FILES",
    "Changes",
    "HashCache",
    "diff_files",
    "hash_file",
    "hash_tree",
    "plugin_files",
]

#: A plugin folder with more files than this is refused rather than hashed for minutes.
MAX_FILES = 20_000
_SKIP_DIRS = frozenset({"__pycache__"})
_RACY_S = 2.0
_CHUNK = 1 << 20


class TreeError(OSError):
    """The plugin folder cannot be hashed (unreadable, too many files, not a folder)."""


def hash_file(path: str) -> str:
    """SHA-256 of a regular file's bytes (hex); never opens a FIFO or a device."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TreeError(f"{path} is not a regular file")
        h = hashlib.sha256()
        while chunk := os.read(fd, _CHUNK):
            h.update(chunk)
        return h.hexdigest()
    finally:
        os.close(fd)


def _link_digest(path: str) -> str:
    return (
        "symlink:"
        + hashlib.sha256(os.readlink(path).encode("utf-8", "surrogateescape")).hexdigest()
    )


def plugin_files(root: str | Path) -> Iterator[tuple[str, os.stat_result]]:
    """(path relative to ``root`` with ``/``, lstat) for every entry that is hashed."""
    top = os.fspath(root)
    count = 0
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        folder = os.path.join(top, rel_dir) if rel_dir else top
        try:
            entries = list(os.scandir(folder))  # order does not matter: keyed by path
        except OSError as exc:
            raise TreeError(f"cannot list {folder}: {exc.strerror or exc}") from None
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if not entry.name.isprintable() and _unpinnable(entry.name):
                # wiseflow.lock is TOML (UTF-8): such a name could not be pinned faithfully
                raise TreeError(f"{os.path.join(folder, entry.name)!r}: the file name is not UTF-8")
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if entry.name not in _SKIP_DIRS:
                    stack.append(rel)
                continue
            count += 1
            if count > MAX_FILES:
                raise TreeError(f"{top} holds more than {MAX_FILES} files")
            yield rel, st


def _unpinnable(name: str) -> bool:
    """True for a name holding undecodable bytes (``os.fsdecode``'s lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class HashCache:
    """Digests remembered by stat stamp, optionally kept in a JSON file between runs."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._entries: dict[str, list[object]] = {}
        self._dirty = False
        self.hashed = 0
        if self.path is not None:
            try:
                data = json.loads(self.path.read_bytes())
                if isinstance(data, dict) and data.get("format") == 1:
                    self._entries = dict(data.get("files", {}))
            except (OSError, ValueError):
                pass

    def digest(
        self,
        path: str,
        st: os.stat_result,
        now: float | None = None,
        trust_before: float | None = None,
    ) -> str:
        """The file's digest: remembered when its stamp is unchanged and not racy.

        ``trust_before``: a remembered digest is used only for a file whose inode last
        changed before this time (an approval's): a file changed after it is always read,
        so a cache edited to vouch for it cannot.
        """
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode]
        known = self._entries.get(path)
        now = time.time() if now is None else now
        racy = now - max(st.st_mtime, st.st_ctime) < _RACY_S
        if trust_before is not None and st.st_ctime >= trust_before - _RACY_S:
            racy = True
        if known is not None and known[:5] == stamp and not racy:
            return str(known[5])
        value = _link_digest(path) if stat.S_ISLNK(st.st_mode) else _hash_regular(path, st)
        self.hashed += 1
        self._entries[path] = [*stamp, value]
        self._dirty = True
        return value

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": 1, "files": self._entries}))
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass  # a read-only data dir costs speed, never correctness


def _hash_regular(path: str, st: os.stat_result) -> str:
    if not stat.S_ISREG(st.st_mode):
        kind = "fifo" if stat.S_ISFIFO(st.st_mode) else "special file"
        return f"{kind}:unhashable"  # recorded, so adding one is a visible change
    return hash_file(path)


def hash_tree(
    root: str | Path, cache: HashCache | None = None, *, trust_before: float | None = None
) -> dict[str, str]:
    """``{relative path: sha256 hex}`` for every file of the plugin folder ``root``.

    ``trust_before``: see :meth:`HashCache.digest`.

    Raises:
        TreeError: the folder cannot be listed or holds more than :data:`MAX_FILES` files.
    """
    cache = cache or HashCache()
    top = os.fspath(root)
    out: dict[str, str] = {}
    now = time.time()
    for rel, st in plugin_files(top):
        try:
            out[rel] = cache.digest(os.path.join(top, rel), st, now, trust_before)
        except OSError as exc:
            raise TreeError(
                f"cannot read {os.path.join(top, rel)}: {exc.strerror or exc}"
            ) from None
    return out


class Changes:
    """What differs between approved and current files (each a sorted list of paths)."""

    __slots__ = ("added", "changed", "removed")

    def __init__(self, added: list[str], changed: list[str], removed: list[str]) -> None:
        self.added = added
        self.changed = changed
        self.removed = removed

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def describe(self, limit: int = 8) -> str:
        """``"changed: a.py, plugin.toml; added: evil.py"`` (long lists shortened)."""
        parts = []
        for word, paths in (("changed", self.changed), ("added", self.added),
                            ("removed", self.removed)):  # fmt: skip
            if paths:
                shown = ", ".join(paths[:limit])
                more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
                parts.append(f"{word}: {shown}{more}")
        return "; ".join(parts)


def diff_files(approved: Mapping[str, str], current: Mapping[str, str]) -> Changes:
    """Files added, changed and removed in ``current`` relative to ``approved``."""
    return Changes(
        added=sorted(set(current) - set(approved)),
        changed=sorted(p for p in approved if p in current and current[p] != approved[p]),
        removed=sorted(set(approved) - set(current)),
    )
