"""What discovery returns: candidates (a manifest plus where it came from) and problems."""

from __future__ import annotations

from typing import Literal, final

import msgspec
from packaging.version import Version

from .._contract._errors import Problem
from .._contract._manifest import Manifest

__all__ = ["ORIGINS", "Candidate", "Discovery", "ScanStats"]

Origin = Literal["entry-point", "dir", "direct", "repo"]

#: Origins in order of precedence when two offer the same name at the same version.
ORIGINS: tuple[str, ...] = ("direct", "dir", "entry-point", "repo")


@final
class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A plugin found by discovery; nothing of its code has been imported.

    Attributes:
        manifest: the validated ``plugin.toml``.
        origin: ``"entry-point"``, ``"dir"``, ``"direct"`` or ``"repo"`` (installed from a
            repository, SPEC §14).
        location: ``"dist-name==1.2.0"`` (entry points), the plugin folder (dirs), the
            repository's normalised URL (repo) or ``"<direct>"``.
        code_root: the folder holding ``plugin.toml`` for folder and installed plugins (the
            import root), else None.
        entry_point: the entry point's value ``"module:Class"`` (entry points only).
    """

    manifest: Manifest
    origin: str
    location: str
    code_root: str | None = None
    entry_point: str | None = None

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def parsed_version(self) -> Version:
        """The PEP 440 version (raises ``InvalidVersion`` for a hand-made bad manifest)."""
        return Version(self.manifest.version)

    @property
    def precedence(self) -> int:
        """Lower wins between equal versions: direct, then dir, then entry-point."""
        try:
            return ORIGINS.index(self.origin)
        except ValueError:
            return len(ORIGINS)

    def describe(self) -> str:
        """``"github 1.2.0 (entry-point wiseflow-github==1.2.0)"``."""
        return f"{self.name} {self.version} ({self.origin} {self.location})"


@final
class ScanStats(msgspec.Struct, frozen=True, kw_only=True):
    """How much work a discovery did; lets tests and benchmarks see the cache work.

    Attributes:
        cache: ``"off"`` (no cache_dir), ``"hit"`` (nothing re-read), ``"partial"``
            (some files re-read) or ``"cold"`` (no usable cache).
        parsed: files read and parsed (entry_points.txt, METADATA, plugin.toml).
        reused: files whose parsed form came from the cache.
        verified: racy cache entries whose content was re-read and compared.
    """

    cache: str = "off"
    parsed: int = 0
    reused: int = 0
    verified: int = 0


@final
class Discovery(msgspec.Struct, frozen=True):
    """Every candidate found and every problem met, in a stable order."""

    candidates: tuple[Candidate, ...]
    problems: tuple[Problem, ...]
    stats: ScanStats = ScanStats()

    def by_name(self) -> dict[str, tuple[Candidate, ...]]:
        """Candidates grouped by plugin name (highest version first)."""
        out: dict[str, list[Candidate]] = {}
        for c in self.candidates:
            out.setdefault(c.name, []).append(c)
        return {
            n: tuple(sorted(cs, key=lambda c: (_sort_version(c), -c.precedence), reverse=True))
            for n, cs in out.items()
        }


def _sort_version(c: Candidate) -> Version:
    try:
        return c.parsed_version
    except Exception:
        return Version("0.dev0")
