"""Candidates prepared for resolution: parsed versions, compatibility, one per version."""

from __future__ import annotations

import platform
from typing import final

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .._contract._errors import ApiIncompatible, Problem, PythonIncompatible
from .._discovery import Candidate

__all__ = ["Index", "Opt", "satisfies"]

_SPECS: dict[str, SpecifierSet | None] = {}
_CONTAINS: dict[tuple[str, str], bool] = {}


def _spec(text: str) -> SpecifierSet | None:
    """The parsed range, or None when unparsable (which satisfies nothing: fail closed)."""
    if text not in _SPECS:
        try:
            _SPECS[text] = SpecifierSet(text)
        except InvalidSpecifier:
            _SPECS[text] = None
    return _SPECS[text]


def satisfies(spec: str, version: str) -> bool:
    """Whether version text ``version`` is in range ``spec`` (pre-releases count; memoised).

    Unparsable ranges or versions satisfy nothing (fail closed).
    """
    key = (spec, version)
    hit = _CONTAINS.get(key)
    if hit is None:
        parsed = _spec(spec)
        v = _version(version)
        hit = parsed is not None and v is not None and parsed.contains(v, prereleases=True)
        _CONTAINS[key] = hit
    return hit


@final
class Opt:
    """One usable version of a plugin (compared by identity)."""

    __slots__ = ("cand", "hard", "label", "soft", "text", "version")

    def __init__(
        self,
        *,
        cand: Candidate,
        version: Version,
        hard: tuple[tuple[str, str], ...],
        soft: tuple[tuple[str, str], ...],
    ) -> None:
        self.cand = cand
        self.version = version
        self.hard = hard
        self.soft = soft
        self.text = cand.version  # the version as written: the key of ``satisfies``
        self.label = f"{cand.name} {cand.version}"

    @property
    def name(self) -> str:
        return self.cand.name

    def sort_key(self) -> tuple[bool, Version]:
        # Final releases before pre-releases, then highest first.
        return (not self.version.is_prerelease, self.version)


class Index:
    """Usable options per name, best first, and why the others were set aside.

    Args:
        candidates: everything discovered (any order).
        api_version: the host's plugin API version.
        python_version: the Python to check ``python`` ranges against.
    """

    def __init__(self, candidates: list[Candidate], api_version: str, python_version: str) -> None:
        self.options: dict[str, list[Opt]] = {}
        #: name -> a problem when no version of it is usable (WF101/WF204/WF205).
        self.unusable: dict[str, Problem] = {}
        #: name -> notes on versions set aside ("3.0 needs plugin API >=2").
        self.notes: dict[str, list[str]] = {}
        #: name -> every candidate offered, best first (for trees and messages).
        self.offered: dict[str, list[Candidate]] = {}
        host_api = _version(api_version)
        host_py = _version(python_version)
        failures: dict[str, list[tuple[Candidate, Problem]]] = {}
        # Input order must not matter: a total order on (precedence, name, version, place).
        ordered = sorted(candidates, key=lambda c: (c.precedence, c.name, c.version, c.location))
        for cand in ordered:
            name = cand.name
            self.offered.setdefault(name, []).append(cand)
            problem = _check(cand, api_version, host_api, python_version, host_py)
            if problem is not None:
                failures.setdefault(name, []).append((cand, problem))
                self.notes.setdefault(name, []).append(f"{cand.version} skipped: {problem.message}")
                continue
            opts = self.options.setdefault(name, [])
            version = _version(cand.version)
            assert version is not None  # _check refused unparsable versions
            if any(o.version == version for o in opts):
                other = next(o for o in opts if o.version == version).cand
                self.notes.setdefault(name, []).append(
                    f"{cand.version} from {other.origin} {other.location} preferred over "
                    f"{cand.origin} {cand.location}"
                )
                continue
            reqs = cand.manifest.requires
            opts.append(
                Opt(
                    cand=cand,
                    version=version,
                    hard=tuple((r.name, r.version) for r in reqs if not r.optional),
                    soft=tuple((r.name, r.version) for r in reqs if r.optional),
                )
            )
        for opts in self.options.values():
            opts.sort(key=Opt.sort_key, reverse=True)
        for name, failed in failures.items():
            if name not in self.options:  # report the highest version's reason
                self.unusable[name] = max(failed, key=lambda f: _sort_version(f[0]))[1]
        for offered in self.offered.values():
            if len(offered) > 1:
                offered.sort(key=_sort_version, reverse=True)

    def versions(self, name: str) -> str:
        """``"1.0, 2.1.0"``: the usable versions of ``name``, lowest first."""
        return ", ".join(str(o.cand.version) for o in reversed(self.options.get(name, [])))


def _sort_version(cand: Candidate) -> Version:
    return _version(cand.version) or _ZERO


_ZERO = Version("0")


_VERSIONS: dict[str, Version | None] = {}


def _version(text: str) -> Version | None:
    """The parsed version, or None when unparsable (memoised)."""
    if text not in _VERSIONS:
        try:
            _VERSIONS[text] = Version(text)
        except InvalidVersion:
            _VERSIONS[text] = None
    return _VERSIONS[text]


def _check(
    cand: Candidate, api_text: str, api: Version | None, py_text: str, py: Version | None
) -> Problem | None:
    """Why ``cand`` cannot be used on this host, or None. Unparsable means unusable."""
    m = cand.manifest
    label = f"{m.name} {m.version}"
    if _version(m.version) is None:
        return Problem(
            code="WF101",
            message=f"{label}: version {m.version!r} is not a PEP 440 version",
            hint="fix plugin.version in plugin.toml",
            plugin=m.name,
            file=m.path,
        )
    for dep, spec in ((r.name, r.version) for r in m.requires):
        if _spec(spec) is None:
            return Problem(
                code="WF101",
                message=f"{label}: requirement {dep} {spec!r} is not a PEP 440 range",
                hint="fix [plugin.requires] in plugin.toml",
                plugin=m.name,
                file=m.path,
            )
    if api is None or not satisfies(m.api, api_text):
        return Problem(
            code=ApiIncompatible.default_code,
            message=f"{label} supports plugin API {m.api!r}; this host offers {api_text}",
            hint=ApiIncompatible.default_hint,
            plugin=m.name,
            file=m.path,
        )
    if m.python is not None and (py is None or not satisfies(m.python, py_text)):
        return Problem(
            code=PythonIncompatible.default_code,
            message=f"{label} supports Python {m.python!r}; this is Python {py_text}",
            hint=PythonIncompatible.default_hint,
            plugin=m.name,
            file=m.path,
        )
    return None


def running_python() -> str:
    """The running interpreter's version, e.g. ``"3.11.7"``."""
    return platform.python_version()
