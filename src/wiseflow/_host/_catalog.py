"""What plugins are on offer, which may answer to their name, and what stands in the way.

Read from manifests only: no plugin code runs here. The manager keeps one catalog and
asks it before loading anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, final

from .._contract._errors import MissingDependency, Problem, error_from_dict
from .._contract._suggest import did_you_mean
from .._discovery import Candidate, Discovery, discover
from .._policy._identity import Admission, admit, origin_of
from .._policy._lock import Lock
from .._policy._operator import OperatorConfig

if TYPE_CHECKING:  # packaging loads only when versions are compared
    from .._resolve import Resolution

__all__ = ["Catalog", "raise_problems"]


@final
class Catalog:
    """Discovery (cached), admission by identity, and version resolution for one host.

    Args:
        config: the operator configuration (pins by origin, configured names).
        plugin_dirs: folders to scan, in order.
        entry_points: also discover installed distributions.
        direct: candidates for plugins handed in directly.
        cache_dir: where the discovery cache lives; None: no cache.
        lock: the approvals' lock (which identity owns a locked name).
        installed: ``<data_dir>/installed``: plugins installed from a repository.
    """

    def __init__(
        self,
        config: OperatorConfig,
        *,
        plugin_dirs: Sequence[Path],
        entry_points: bool,
        direct: Sequence[Candidate],
        cache_dir: Path | None,
        lock: Callable[[], Lock],
        installed: Path | None = None,
    ) -> None:
        self.config = config
        self.plugin_dirs = plugin_dirs
        self.entry_points = entry_points
        self.direct = direct
        self.cache_dir = cache_dir
        self._lock = lock
        self.installed = installed
        self._discovery: Discovery | None = None
        self._admission: Admission | None = None

    def discover(self, *, refresh: bool = False) -> Discovery:
        """Every plugin on offer, read from manifests only (no plugin code runs)."""
        if self._discovery is None or refresh:
            self._discovery = discover(
                plugin_dirs=self.plugin_dirs,
                entry_points=self.entry_points,
                direct=self.direct,
                cache_dir=self.cache_dir,
                installed=self.installed,
            )
            self._admission = None
        return self._discovery

    def admission(self) -> Admission:
        """Which candidates may answer to their name (see :mod:`wiseflow._policy._identity`)."""
        discovery = self.discover()
        if self._admission is None:
            self._admission = self.admit(discovery.candidates)
        return self._admission

    def admit(self, candidates: Sequence[Candidate]) -> Admission:
        """The admission of ``candidates`` under this config, its pins and the lock."""
        return admit(
            candidates,
            configured={n for n in self.config.plugins if not n.startswith("_")},
            lock=self._lock(),
            pinned=lambda name: self.config.plugin(name).origin,
            matches_pin=self._origin_matches,
        )

    def resolve(self, want: Iterable[str] | None = None) -> Resolution:
        """Choose versions and a load order for ``want`` (everything when None)."""
        from .._resolve import resolve

        return resolve(list(self.admission().candidates), want=want)

    def select(self, name: str) -> Resolution:
        """The resolution that loads ``name`` (``selected[name]`` is its candidate).

        Raises:
            WiseflowError: the first problem standing in the way of ``name`` or of what it
                requires (all of them in ``.problems``); WF201 when nothing is named so.
        """
        resolution = self.resolve([name])
        related = set(resolution.order) | {name}
        raise_problems(self.problems_for(related) + list(resolution.problems), name)
        if name not in resolution.selected:
            known = (c.manifest.name for c in self.discover().candidates)
            raise MissingDependency(
                f"no plugin named '{name}' was found{did_you_mean(name, known)}",
                plugin=name,
                hint="check `wiseflow plugins list`, plugin_dirs and --plugin-dir",
            )
        return resolution

    def problems_for(self, names: Iterable[str]) -> list[Problem]:
        """Discovery problems that stand in the way of loading ``names``.

        A broken candidate never takes a valid one of the same name out of service: its
        problems count only when no candidate of that name was admitted. A candidate refused
        its name (another origin owns it) counts only when nothing else answers to it.
        """
        names = set(names)
        admission = self.admission()
        valid = {c.manifest.name for c in admission.candidates}
        out = []
        for p in self.discover().problems:
            if p.plugin not in names:
                continue
            if p.code == "WF104":  # same version from two places
                if p.plugin in admission.owner:
                    continue  # settled: pinned, locked or configured
            elif p.plugin in valid:
                continue
            out.append(p)
        for name in sorted(names - valid):
            out += admission.refused_for(name)
        return out

    def _origin_matches(self, origin: str, cand: Candidate) -> bool:
        """``origin`` (wiseflow.toml) names a kind of origin (``dir``, ``entry-point``), a
        plugin folder (relative to wiseflow.toml), a distribution or an identity origin."""
        if origin in (cand.origin, cand.location, origin_of(cand)):
            return True
        if cand.origin == "dir":
            return str(self.config.resolve_path(origin).resolve()) == cand.location
        return cand.location.split("==")[0] == origin


def raise_problems(problems: Sequence[Problem], name: str) -> None:
    """Raise the first problem's error class, carrying every problem; nothing when none."""
    if not problems:
        return
    first = problems[0]
    err = error_from_dict(
        {
            "code": first.code,
            "message": "; ".join(p.message for p in problems),
            "plugin": first.plugin or name,
            "hint": first.hint,
        }
    )
    err.problems = tuple(problems)
    raise err
