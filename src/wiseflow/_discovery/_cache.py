"""The discovery cache: parsed files remembered by their stat stamp.

Discovery always walks the file system (directory listings and ``stat`` calls, which are
cheap), so it sees every plugin added, changed or removed. What the cache saves is the
expensive part: reading and parsing ``entry_points.txt`` (with ``METADATA``) and
``plugin.toml``.
A file is re-read when its stamp (mtime in ns, size, inode) differs from the remembered one.

A file changed twice within one clock tick keeps its mtime ("racy", as git calls it); for
files modified shortly before the cache was written, the cache also keeps a content digest
and compares it on the next use, so such edits are seen too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, final

import msgspec

from .._contract._errors import Problem
from .._contract._manifest import Manifest
from .._contract._toml import read_limited
from .._contract._version import __version__

__all__ = ["EntryPoints", "ManifestResult", "Memo", "Stamp"]

FORMAT = 4
#: Files modified less than this long before the cache was written keep a digest.
RACY_NS = 3_000_000_000
#: Entries not used by the current scan are kept up to this many (other configurations).
MAX_ENTRIES = 20_000


@final
class Stamp(msgspec.Struct, frozen=True, array_like=True):
    mtime_ns: int
    size: int
    ino: int


@final
class EntryPoints(msgspec.Struct, frozen=True, tag="ep"):
    """The ``wiseflow.plugins`` entries of one ``entry_points.txt``.

    Each entry is (name, value, target): ``target`` is the value reduced to
    ``"module:attr"``, or ``""`` when the value is malformed.

    ``location`` (``"dist-name==1.2.0"``, from ``METADATA``) is read along with it: an
    install or upgrade rewrites both files, so one stamp covers both.
    """

    entries: tuple[tuple[str, str, str], ...]
    location: str = ""


@final
class ManifestResult(msgspec.Struct, frozen=True, tag="manifest"):
    """A parsed ``plugin.toml``: the manifest, or the problems that stopped it."""

    manifest: Manifest | None = None
    problems: tuple[Problem, ...] = ()
    name: str | None = None  # the plugin name, when the file was readable enough to say


Value = EntryPoints | ManifestResult
V = TypeVar("V", EntryPoints, ManifestResult)


@final
class _Entry(msgspec.Struct, array_like=True):
    stamp: Stamp
    digest: bytes | None
    value: Value


@final
class _File(msgspec.Struct):
    format: int
    host: str
    entries: dict[str, _Entry]


def stamp_of(st: os.stat_result) -> Stamp:
    return Stamp(st.st_mtime_ns, st.st_size, st.st_ino)


def _digest(data: bytes) -> bytes:
    import hashlib  # lazy: a cache hit on old files never needs it

    return hashlib.blake2b(data, digest_size=16).digest()


def _host() -> str:
    return f"{__version__}/{sys.version_info[0]}.{sys.version_info[1]}"


class Memo:
    """Parsed files by path and stamp; a no-op store when ``cache_dir`` is None.

    Args:
        cache_dir: where ``discovery-v1.msgpack`` lives; created on save.
    """

    def __init__(self, cache_dir: str | Path | None) -> None:
        self.path = Path(cache_dir) / f"discovery-v{FORMAT}.msgpack" if cache_dir else None
        self.entries: dict[str, _Entry] = {}
        self.used: set[str] = set()
        self.digested: list[str] = []  # used entries that carry a content digest
        self.parsed = self.reused = self.verified = 0
        self.loaded = False
        self.dirty = False
        if self.path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        try:
            raw = self.path.read_bytes()
            data = msgspec.msgpack.decode(raw, type=_File)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return  # missing or unreadable: start cold, rewrite on save
        if data.format == FORMAT and data.host == _host():
            self.entries = data.entries
            self.loaded = True

    @property
    def state(self) -> str:
        """``off``, ``cold``, ``partial`` or ``hit`` (see :class:`ScanStats`)."""
        if self.path is None:
            return "off"
        if not self.loaded:
            return "cold"
        return "partial" if self.parsed else "hit"

    def get(self, path: str, st: os.stat_result, parse: Callable[[bytes], V], kind: type[V]) -> V:
        """The parsed form of ``path`` (whose ``stat`` is ``st``), from the cache or fresh.

        Raises:
            OSError: the file cannot be read.
        """
        stamp = stamp_of(st)
        entry = self.entries.get(path)
        data: bytes | None = None
        if entry is not None and entry.stamp == stamp and isinstance(entry.value, kind):
            if entry.digest is None:
                self.reused += 1
                self.used.add(path)
                return entry.value
            data = _read(path)
            if _digest(data) == entry.digest:
                self.verified += 1
                self.used.add(path)
                self.digested.append(path)
                return entry.value
        if data is None:
            data = _read(path)
        value = parse(data)
        self.parsed += 1
        self.used.add(path)
        if self.path is not None:
            self.entries[path] = _Entry(stamp, _digest(data), value)
            self.digested.append(path)
            self.dirty = True
        return value

    def save(self) -> None:
        """Write the cache if anything changed (atomically; failures are ignored)."""
        if self.path is None:
            return
        now = time.time_ns()
        for key in self.digested:
            entry = self.entries[key]
            if entry.digest is not None and entry.stamp.mtime_ns < now - RACY_NS:
                entry.digest = None  # old enough: a later edit will change the mtime
                self.dirty = True
        if not self.dirty:
            return
        entries = self.entries
        if len(entries) > MAX_ENTRIES:
            entries = {k: v for k, v in entries.items() if k in self.used}
        import tempfile  # lazy: only a changed cache is written

        payload = msgspec.msgpack.encode(_File(format=FORMAT, host=_host(), entries=entries))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".discovery-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            return  # a read-only cache dir must not break discovery
        self.dirty = False


def _read(path: str) -> bytes:
    return read_limited(path)  # no FIFO, device or giant file hangs discovery
