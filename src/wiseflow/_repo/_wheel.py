"""Plugin wheels: what one holds, read without unpacking, and unpacked safely.

A plugin wheel is a wheel (a zip with ``*.dist-info/METADATA``, ``WHEEL``, ``RECORD``)
holding one plugin folder: a top-level folder with ``plugin.toml`` and the plugin's
modules (``entry = "module:Class"`` relative to that folder, as for a folder plugin).
Its Python requirements are the ``Requires-Dist`` lines of ``METADATA``.

Unpacking refuses absolute paths, ``..``, backslashes, symlinks and special files, a
path given twice or as both a file and a folder, names with control characters or too
long for the file system, a member list larger than a plugin's (read from the zip's end
record before the list is parsed), and bounds the number of files and their sizes
(declared and actual).
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from email.parser import BytesParser
from pathlib import Path, PurePosixPath
from typing import final

import msgspec

from .._contract._errors import ManifestError, RepositoryError
from .._contract._manifest import MANIFEST_NAME, Manifest, parse_manifest

__all__ = ["MAX_FILES", "MAX_TOTAL", "WheelInfo", "read_wheel", "unpack_wheel"]

MAX_FILES = 5_000
MAX_FILE = 64 << 20
MAX_TOTAL = 256 << 20
MAX_MANIFEST = 64 << 10
MAX_NAME_PART = 255  # bytes: what a Linux file system takes in one name


@final
class WheelInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a plugin wheel holds.

    Attributes:
        manifest: its validated ``plugin.toml``.
        manifest_text: that file's text, as published.
        folder: the top-level folder holding ``plugin.toml``.
        requires_dist: its ``Requires-Dist`` lines (Python requirements).
    """

    manifest: Manifest
    manifest_text: str
    folder: str
    requires_dist: tuple[str, ...] = ()


def _bad(wheel: str, what: str, code: str = "WF603") -> RepositoryError:
    return RepositoryError(
        f"wheel {wheel} {what}",
        plugin=wheel,
        code=code,
        hint="the wheel is not a valid plugin wheel; ask its publisher for a fixed one",
    )


MAX_DIRECTORY = MAX_FILES * 1024  # the central directory: ~50 bytes and a name per member
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory: entries at [4], size at [5]
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end record: entries at [6], size at [7]


def _directory_bounds(path: Path, wheel: str) -> None:
    """Refuse a zip announcing more members (or a larger member list) than a plugin wheel
    may hold, from its end record, before ``zipfile`` reads the list: it builds an object
    per member, and a 24 MiB zip of 300,000 empty members cost 156 MiB and a second."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            tail_at = max(0, size - (_EOCD.size + 0xFFFF))
            fh.seek(tail_at)
            tail = fh.read()
            # where zipfile looks: a record with no comment at the very end, else the last
            at = len(tail) - _EOCD.size
            if at < 0 or tail[at : at + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
                at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) - at < _EOCD.size:
                return  # not a zip: zipfile says so
            entries, length = _EOCD.unpack_from(tail, at)[4:6]
            if at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":  # a zip64 locator
                fh.seek(struct.unpack_from("<Q", tail, at - 12)[0])
                rec = fh.read(_EOCD64.size)
                if len(rec) == _EOCD64.size and rec[:4] == b"PK\x06\x06":
                    entries, length = _EOCD64.unpack(rec)[6:8]
    except OSError as exc:
        raise _bad(wheel, f"cannot be read: {exc.strerror or exc}") from None
    if entries > MAX_FILES:
        raise _bad(wheel, f"holds more than {MAX_FILES} files")
    if length > MAX_DIRECTORY:
        raise _bad(wheel, f"has a file list larger than {MAX_DIRECTORY} bytes")


def _check_members(zf: zipfile.ZipFile, wheel: str) -> list[zipfile.ZipInfo]:
    members = zf.infolist()
    if len(members) > MAX_FILES:
        raise _bad(wheel, f"holds more than {MAX_FILES} files")
    total = 0
    files: set[tuple[str, ...]] = set()
    dirs: set[tuple[str, ...]] = set()
    for info in members:
        name = info.filename
        parts = PurePosixPath(name).parts
        if (
            not name
            or name.startswith("/")
            or "\\" in name
            or "\0" in name
            or ".." in parts
            or (parts and ":" in parts[0])
        ):
            raise _bad(wheel, f"holds a file outside the plugin: {name[:200]!r}")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
            raise _bad(wheel, f"holds a file whose name has control characters: {name[:200]!r}")
        if len(parts) > 32 or any(len(p.encode()) > MAX_NAME_PART for p in parts):
            raise _bad(wheel, f"holds a file whose name is too long or too deep: {name[:200]!r}")
        _claim(wheel, name, parts, info.is_dir(), files, dirs)
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no type recorded (a plain file)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            raise _bad(wheel, f"holds a link or special file: {name[:200]!r}")
        if info.file_size > MAX_FILE:
            raise _bad(wheel, f"holds a file larger than {MAX_FILE} bytes: {name[:200]!r}")
        total += info.file_size
        if total > MAX_TOTAL:
            raise _bad(wheel, f"unpacks to more than {MAX_TOTAL} bytes")
    return members


def _claim(
    wheel: str, name: str, parts: tuple[str, ...], is_dir: bool,
    files: set[tuple[str, ...]], dirs: set[tuple[str, ...]],
) -> None:  # fmt: skip
    """One path once: a name given twice (``a/b`` and ``a//b`` too: zip readers disagree
    on which copy wins), or a file where another member needs a folder, is refused."""
    clash = parts in files or (not is_dir and parts in dirs)
    clash = clash or any(parts[:i] in files for i in range(1, len(parts)))
    if clash:
        raise _bad(wheel, f"holds the path {name[:200]!r} twice (or as a file and a folder)")
    if is_dir:
        dirs.add(parts)
    else:
        files.add(parts)
    dirs.update(parts[:i] for i in range(1, len(parts)))


def read_wheel(path: Path, label: str | None = None) -> WheelInfo:
    """Read the plugin wheel ``path`` without unpacking it.

    Raises:
        RepositoryError: WF603 when it is not a zip, holds unsafe members, or no
            (or more than one) plugin folder; ManifestError (WF101) for a bad manifest.
    """
    wheel = label or path.name
    _directory_bounds(path, wheel)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _bad(wheel, f"is not a zip file: {exc}") from None
    with zf:
        members = _check_members(zf, wheel)
        manifests = [
            m.filename
            for m in members
            if len(PurePosixPath(m.filename).parts) == 2
            and PurePosixPath(m.filename).name == MANIFEST_NAME
        ]
        if len(manifests) != 1:
            raise _bad(wheel, f"holds {len(manifests)} plugin folders (one top-level folder "
                       "with plugin.toml is expected)", code="WF101")  # fmt: skip
        folder = PurePosixPath(manifests[0]).parts[0]
        if folder.endswith((".dist-info", ".data")):
            raise _bad(wheel, "keeps plugin.toml in its metadata folder", code="WF101")
        info = zf.getinfo(manifests[0])
        if info.file_size > MAX_MANIFEST:
            raise _bad(wheel, "has a plugin.toml too large to be a manifest", code="WF101")
        raw = zf.read(info)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(wheel, "has a plugin.toml that is not UTF-8", code="WF101") from None
        try:
            manifest = parse_manifest(text, path=f"{wheel}:{manifests[0]}")
        except ManifestError:
            raise
        requires: tuple[str, ...] = ()
        metas = [
            m.filename
            for m in members
            if len(PurePosixPath(m.filename).parts) == 2
            and PurePosixPath(m.filename).parts[0].endswith(".dist-info")
            and PurePosixPath(m.filename).name == "METADATA"
        ]
        if metas and zf.getinfo(metas[0]).file_size <= MAX_MANIFEST * 16:
            msg = BytesParser().parsebytes(zf.read(metas[0]))
            requires = tuple(str(r)[:500] for r in (msg.get_all("Requires-Dist") or ()))
    return WheelInfo(manifest=manifest, manifest_text=text, folder=folder, requires_dist=requires)


def unpack_wheel(path: Path, dest: Path, label: str | None = None) -> None:
    """Unpack ``path`` into the new folder ``dest`` (which must not exist).

    Files are written with ``O_EXCL`` and no link is ever followed or created; the bytes
    written are counted against the limits whatever the zip's header said.
    """
    wheel = label or path.name
    _directory_bounds(path, wheel)
    dest.mkdir(parents=True)
    with zipfile.ZipFile(path) as zf:
        members = _check_members(zf, wheel)
        total = 0
        for info in members:
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(target, flags, 0o644)
            written = 0
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    total += len(chunk)
                    if written > MAX_FILE or total > MAX_TOTAL or written > info.file_size:
                        raise _bad(wheel, f"unpacks to more than it declares: {info.filename!r}")
                    out.write(chunk)
