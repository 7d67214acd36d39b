"""The index target of a repository: every plugin version's manifest summary, and a blocklist.

The publisher writes it (``wiseflow repo add|yank|block`` edit the draft, ``repo publish``
signs it as the target ``index.json``); the client reads it only after TUF verified it, and
keeps the verified copy at ``<data_dir>/repository/<key>/index.json``: the kill switch
(:func:`blocked_installed`) reads that copy when the host starts an installed plugin.

Everything in it came from a repository: names are checked, strings bounded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import final

import msgspec

from .._contract._errors import SecurityError
from .._discovery import Candidate

__all__ = [
    "INDEX_TARGET",
    "Block",
    "IndexDoc",
    "VersionEntry",
    "blocked_installed",
    "load_index",
    "refuse_blocked",
    "state_dir",
]

INDEX_TARGET = "index.json"
MAX_INDEX_BYTES = 32 << 20
REASON_MAX = 300


@final
class VersionEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One published version of a plugin.

    Attributes:
        wheel: the target name of its wheel.
        manifest: its ``plugin.toml`` as published (resolution reads it, the installer
            compares it with the wheel's).
        kind, api, requires, permissions, description: the manifest's summary.
        yanked: never chosen by resolution (an exact pin with ``--allow-yanked`` may).
        reason: why it was yanked.
    """

    wheel: str
    manifest: str
    kind: str = ""
    api: str = ""
    python: str = ""
    requires: dict[str, str] = msgspec.field(default_factory=dict)
    permissions: tuple[str, ...] = ()
    description: str = ""
    python_requires: tuple[str, ...] = ()
    yanked: bool = False
    reason: str = ""


@final
class Block(msgspec.Struct, frozen=True, kw_only=True):
    """A blocklist rule: versions of ``name`` within ``spec`` ("" = every version)."""

    name: str
    spec: str = ""
    reason: str = ""

    def matches(self, name: str, version: str) -> bool:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import InvalidVersion, Version

        if name != self.name:
            return False
        if not self.spec:
            return True
        try:
            return SpecifierSet(self.spec).contains(Version(version), prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            return True  # a rule that cannot be read blocks, never lets through


@final
class IndexDoc(msgspec.Struct, kw_only=True):
    """The whole index target."""

    format: int = 1
    plugins: dict[str, dict[str, VersionEntry]] = msgspec.field(default_factory=dict)
    blocked: list[Block] = msgspec.field(default_factory=list)

    def block_reason(self, name: str, version: str) -> str | None:
        """Why ``name`` ``version`` is blocklisted, or None."""
        for rule in self.blocked:
            if rule.matches(name, version):
                return rule.reason[:REASON_MAX] or "no reason given"
        return None


def load_index(data: bytes) -> IndexDoc:
    """Decode an index (raises ``msgspec.DecodeError`` / ``ValueError`` when invalid)."""
    if len(data) > MAX_INDEX_BYTES:
        raise ValueError(f"the index is larger than {MAX_INDEX_BYTES} bytes")
    doc = msgspec.json.decode(data, type=IndexDoc)
    _check_keys(doc)
    return doc


def _check_keys(doc: IndexDoc) -> None:
    """Every plugin name a valid plugin name, every version PEP 440: the commands that show
    or sort an index (``plugins search``) may rely on it (a version ``search`` could not
    parse ended it in an internal error; a name with escape sequences reached tables)."""
    from packaging.version import InvalidVersion, Version

    from .._contract._manifest import NAME_RE

    for name, versions in doc.plugins.items():
        if not NAME_RE.match(name):
            raise ValueError(f"it names a plugin {name[:80]!r}, not a valid plugin name")
        for version in versions:
            try:
                Version(version)
            except InvalidVersion:
                raise ValueError(
                    f"it gives {name} a version {version[:80]!r}, not a PEP 440 version"
                ) from None


def state_dir(data_dir: Path, url: str) -> Path:
    """``<data_dir>/repository/<key>/``: TUF client state of one repository URL."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return data_dir / "repository" / key


def blocked_installed(data_dir: Path, url: str, name: str, version: str) -> str | None:
    """The kill switch: why the installed ``name`` ``version`` from ``url`` is blocklisted
    by the last verified index of that repository, or None."""
    path = state_dir(data_dir, url) / INDEX_TARGET
    try:
        with open(path, "rb") as fh:
            doc = load_index(fh.read(MAX_INDEX_BYTES + 1))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # a verified copy that cannot be read any more: refuse rather than run blind
        return "the repository's verified index cannot be read; run `wiseflow plugins update`"
    return doc.block_reason(name, version)


def refuse_blocked(data_dir: Path, cand: Candidate) -> None:
    """The kill switch at start: an installed plugin its repository blocklisted does not
    start; the error (WF300, exit 3) gives the publisher's reason."""
    m = cand.manifest
    why = blocked_installed(data_dir, cand.location, m.name, m.version)
    if why is None:
        return
    raise SecurityError(
        f"plugin '{m.name}' {m.version} is disabled: its repository {cand.location} "
        f"blocklisted it: {why}",
        plugin=m.name,
        hint=f"`wiseflow plugins update {m.name}` to a version that is not blocklisted, "
        f"or `wiseflow plugins remove {m.name}`",
    )
