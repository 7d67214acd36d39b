"""Audit verdicts remembered by content: a file already audited is not walked again.

What the walk of one source file found (its findings, before the manifest's declarations
weigh them) depends only on the file's text, its path and the audit's own code. An entry
is keyed by a SHA-256 of all three, so a changed file, a moved one or a new wiseflow (or
any change to the audit's rules) is audited afresh; nothing is keyed by a file's stamp.
The walk of the plugin's folder (what is refused because it cannot be read) and the
weighing against the manifest run every time.

Entries live in the host's data dir (``<data_dir>/cache/audit/``), which no sandboxed
plugin can write (Landlock: only its own ``plugins/<instance>/`` folder). A trusted plugin
runs inside the host and could write anything, the cache included: trusted is trusted. An
entry that does not decode as exactly what this module writes, or that names another key,
is ignored (the file is audited again and the entry rewritten), never trusted. A cache
that cannot be read or written only costs the audit's time.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Annotated, Final, final

import msgspec

from ..._contract._version import __version__
from ._rules import SEVERITIES
from ._scope import Finding

__all__ = ["FindingsCache", "rules_digest"]

FORMAT: Final = 1
#: An entry larger than this is not read (a file's findings are a few hundred bytes).
MAX_ENTRY: Final = 1 << 20
#: Entries kept: past this many, a write (a file audited afresh) drops the older half.
MAX_ENTRIES: Final = 4096
_Text = Annotated[str, msgspec.Meta(max_length=65_536)]


@final
class _Entry(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    format: int
    key: str
    findings: Annotated[
        list[tuple[_Text, _Text, _Text, Annotated[int, msgspec.Meta(ge=0)], _Text]],
        msgspec.Meta(max_length=100_000),
    ]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Entry).decode


@cache
def rules_digest() -> str:
    """A digest of the audit's own code, wiseflow's version and the Python that parses:
    the audit's "rules version", computed from the code itself so that no change to a
    rule can forget to bump it."""
    h = hashlib.sha256(f"{FORMAT}\0{__version__}\0{sys.version_info[:2]}".encode())
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@final
class FindingsCache:
    """The findings of audited files under ``folder`` (created on first write)."""

    __slots__ = ("folder", "hits", "misses")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(file: str, source: str) -> str | None:
        """The entry of ``source`` at ``file``; None when the audit's own code cannot be
        read (then nothing is cached: every file is walked)."""
        try:
            rules = rules_digest()
        except OSError:
            return None
        h = hashlib.sha256(rules.encode())
        h.update(b"\0" + file.encode("utf-8", "surrogatepass") + b"\0")
        h.update(source.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def get(self, key: str) -> list[Finding] | None:
        """The remembered findings of ``key``, or None (absent, unreadable, corrupt)."""
        try:
            with open(self.folder / key, "rb") as f:
                data = f.read(MAX_ENTRY + 1)
            if len(data) > MAX_ENTRY:
                return None
            entry = _decode(data)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None
        if entry.format != FORMAT or entry.key != key:
            return None
        if any(sev not in SEVERITIES for _, sev, *_ in entry.findings):
            return None
        self.hits += 1
        return [Finding(*f) for f in entry.findings]

    def put(self, key: str, findings: list[Finding]) -> None:
        """Remember ``findings`` (atomically: a reader sees the old entry or the new one)."""
        self.misses += 1
        data = _encode(_Entry(FORMAT, key, [tuple(f) for f in findings]))  # type: ignore[misc]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, self.folder / key)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._prune()
        except OSError:
            pass  # a read-only or full data dir: the next load audits again

    def _prune(self) -> None:
        """Past :data:`MAX_ENTRIES`, drop the older half (by modification time): a plugin
        edited again and again leaves an entry per version, never more than this many."""
        with os.scandir(self.folder) as it:
            entries = [e for e in it if e.is_file(follow_symlinks=False)]
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns)
        for e in entries[: len(entries) - MAX_ENTRIES // 2]:
            Path(e.path).unlink(missing_ok=True)
