"""What an install, update or remove changes, decided with the resolver of local plugins.

Index versions become candidates (origin ``repo``, no folder yet) beside the plugins on
this host; :func:`wiseflow._resolve.resolve` chooses, as it does for local plugins. A
yanked version is never offered (an exact pin with ``allow_yanked`` is the exception), a
blocklisted one never. Nothing here touches the disk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import final

import msgspec

from .._contract._errors import (
    ManifestError,
    MissingDependency,
    RepositoryError,
    VersionConflict,
    WiseflowError,
)
from .._contract._manifest import parse_manifest
from .._contract._suggest import did_you_mean
from .._discovery import Candidate
from ._index import IndexDoc, VersionEntry

__all__ = ["Plan", "parse_request", "plan_install", "plan_remove", "plan_update"]

_REQUEST = re.compile(r"^\s*([a-z][a-z0-9-]*)\s*(.*?)\s*$")


@final
class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """Plugins to add (dependencies first, each with its index entry) and names to drop."""

    add: tuple[tuple[Candidate, VersionEntry], ...] = ()
    drop: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.add and not self.drop


def parse_request(text: str) -> tuple[str, str]:
    """``"name>=1,<2"`` -> (``"name"``, ``">=1,<2"``); WF602 for something else."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    m = _REQUEST.match(text)
    if m is None:
        raise RepositoryError(
            f"{text[:100]!r} is not NAME or NAME<range>",
            plugin=text[:100],
            code="WF602",
            hint='e.g. `wiseflow plugins install github` or `... install "github>=1.2,<2"`',
        )
    name, spec = m.group(1), m.group(2)
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        raise RepositoryError(
            f"{spec[:100]!r} is not a version range", plugin=name, code="WF602",
            hint='ranges are PEP 440: ">=1.2", "==1.0.3", ">=1,<2"',
        ) from None  # fmt: skip
    return name, spec


def _candidate(url: str, name: str, version: str, entry: VersionEntry) -> Candidate | None:
    try:
        manifest = parse_manifest(entry.manifest)
    except ManifestError:
        return None
    if manifest.name != name or manifest.version != version:
        return None  # an index that says one thing and a manifest another: not offered
    return Candidate(manifest=manifest, origin="repo", location=url)


def _installable(doc: IndexDoc, url: str, name: str) -> list[Candidate]:
    out = []
    for version, entry in doc.plugins.get(name, {}).items():
        if entry.yanked or doc.block_reason(name, version) is not None:
            continue
        cand = _candidate(url, name, version, entry)
        if cand is not None:
            out.append(cand)
    return out


def _pool(doc: IndexDoc, url: str, local: Sequence[Candidate], skip: set[str]) -> list[Candidate]:
    """Local candidates, plus index versions of names no local plugin offers."""
    present = {c.manifest.name for c in local}
    pool = [c for c in local if c.manifest.name not in skip]
    for name in sorted(doc.plugins):
        if name not in present and name not in skip:
            pool.extend(_installable(doc, url, name))
    return pool


def _error(problem_code: str, message: str, name: str, hint: str | None) -> WiseflowError:
    cls = {"WF201": MissingDependency, "WF202": VersionConflict}.get(problem_code)
    if cls is not None:
        return cls(message, plugin=name, hint=hint)
    return WiseflowError(message, plugin=name, code=problem_code, hint=hint)


def _chosen(
    doc: IndexDoc, pool: list[Candidate], want: list[str], focus: str | None
) -> list[tuple[Candidate, VersionEntry]]:
    from .._resolve import resolve

    res = resolve(pool, want=want)
    for p in res.problems:
        if focus is None or p.plugin == focus or focus not in res.selected:
            raise _error(p.code, p.message, p.plugin or (focus or "?"), p.hint)
    out = []
    for name in res.order:
        cand = res.selected[name]
        if cand.origin == "repo" and cand.code_root is None:  # from the index: to install
            out.append((cand, doc.plugins[name][cand.manifest.version]))
    return out


def _check_dependents(
    local: Sequence[Candidate], add: list[tuple[Candidate, VersionEntry]]
) -> None:
    """WF202 when a new version breaks what an installed plugin requires of it."""
    from packaging.specifiers import SpecifierSet

    chosen = {c.manifest.name: c.manifest.parsed_version for c, _ in add}
    for cand in local:
        if cand.origin != "repo" or cand.manifest.name in chosen:
            continue
        for req in cand.manifest.requires:
            version = chosen.get(req.name)
            if version is not None and not SpecifierSet(req.version).contains(version, True):
                raise VersionConflict(
                    f"{req.name} {version} does not satisfy {cand.manifest.name}, which "
                    f"requires {req.name} {req.version}",
                    plugin=req.name,
                    hint=f"install a version within {req.version}, or remove "
                    f"{cand.manifest.name} first",
                )


def plan_install(
    doc: IndexDoc,
    url: str,
    local: Sequence[Candidate],
    request: str,
    *,
    allow_yanked: bool = False,
) -> Plan:
    """The plugins to install for ``request`` (``NAME[SPEC]``) and what it requires."""
    from packaging.specifiers import SpecifierSet

    name, spec = parse_request(request)
    versions = doc.plugins.get(name)
    if not versions:
        raise RepositoryError(
            f"repository {url} has no plugin named '{name}'{did_you_mean(name, doc.plugins)}",
            plugin=name,
            code="WF602",
            hint="search it with `wiseflow plugins search TEXT`",
        )
    wanted = SpecifierSet(spec)
    exact = spec[2:].strip() if spec.startswith("==") and "," not in spec else None
    offered, why = [], []
    for version, entry in versions.items():
        if not wanted.contains(version, prereleases=True):
            continue
        blocked = doc.block_reason(name, version)
        if blocked is not None:
            why.append(f"{version} is blocklisted: {blocked}")
            continue
        if entry.yanked and not (allow_yanked and exact == version):
            why.append(f"{version} is yanked: {entry.reason[:300] or 'no reason given'}")
            continue
        cand = _candidate(url, name, version, entry)
        if cand is not None:
            offered.append(cand)
    if not offered:
        raise RepositoryError(
            f"repository {url} has no installable version of '{name}'"
            + (f" within {spec}" if spec else "")
            + (f" ({'; '.join(why)})" if why else ""),
            plugin=name,
            code="WF602",
            hint="a yanked version needs an exact pin and --allow-yanked (NAME==VERSION); "
            "a blocklisted one is never installed",
        )
    pool = _pool(doc, url, local, {name}) + offered
    add = _chosen(doc, pool, [name], name)
    _check_dependents(local, add)
    have = {(c.manifest.name, c.manifest.version) for c in local if c.origin == "repo"}
    return Plan(
        add=tuple(a for a in add if (a[0].manifest.name, a[0].manifest.version) not in have)
    )


def plan_update(doc: IndexDoc, url: str, local: Sequence[Candidate], names: Sequence[str]) -> Plan:
    """Newer versions of ``names`` (every plugin installed from ``url`` when empty), as
    far as what the installed plugins require allows."""
    installed = {c.manifest.name: c for c in local if c.origin == "repo" and c.code_root}
    targets = list(names) or sorted(n for n, c in installed.items() if c.location == url)
    for n in targets:
        if n not in installed:
            raise RepositoryError(
                f"plugin '{n}' is not installed from a repository{did_you_mean(n, installed)}",
                plugin=n,
                code="WF602",
                hint="install it with `wiseflow plugins install NAME`",
            )
    pool = [
        c
        for c in _pool(doc, url, local, set(targets))
        if not (c.origin == "repo" and c.code_root is None and c.manifest.name in installed)
    ]
    for n in targets:
        current = installed[n]
        if doc.block_reason(n, current.manifest.version) is None:
            pool.append(current)
        pool.extend(
            c for c in _installable(doc, url, n) if c.manifest.version != current.manifest.version
        )
    add = _chosen(doc, pool, sorted(installed), None)
    return Plan(add=tuple(add))


def plan_remove(local: Sequence[Candidate], name: str, *, force: bool = False) -> Plan:
    """Drop ``name``; WF201 while another installed plugin requires it (unless ``force``)."""
    installed = [c for c in local if c.origin == "repo" and c.code_root]
    if name not in {c.manifest.name for c in installed}:
        raise RepositoryError(
            f"plugin '{name}' is not installed from a repository"
            + did_you_mean(name, (c.manifest.name for c in installed)),
            plugin=name,
            code="WF602",
            hint="`wiseflow plugins list` shows each plugin's origin",
        )
    dependents = sorted(
        c.manifest.name
        for c in local
        if c.manifest.name != name
        and any(r.name == name and not r.optional for r in c.manifest.requires)
    )
    if dependents and not force:
        raise MissingDependency(
            f"plugin '{name}' is required by {', '.join(dependents)}; not removed",
            plugin=name,
            hint=f"remove {dependents[0]} first, or pass --force to remove it anyway",
        )
    return Plan(drop=(name,))
