"""``discover()``: find every plugin candidate without importing plugin code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
from packaging.utils import canonicalize_version

from .._contract._errors import DuplicatePlugin, ManifestError, Problem
from .._contract._manifest import MANIFEST_NAME, parse_manifest
from ._cache import EntryPoints, ManifestResult, Memo
from ._candidate import Candidate, Discovery, ScanStats
from ._folders import import_root, iter_plugin_folders
from ._installed import installed_folders
from ._sites import (
    GROUP,
    Dist,
    dist_location,
    iter_dists,
    locate_manifest,
    parse_entry_points,
)

__all__ = ["discover"]

_SHIP_HINT = "ship plugin.toml inside the package (package-data) next to the entry's module"


def discover(
    *,
    plugin_dirs: Sequence[str | Path] = (),
    entry_points: bool = True,
    direct: Sequence[Candidate] = (),
    cache_dir: str | Path | None = None,
    installed: str | Path | None = None,
) -> Discovery:
    """Find plugins in installed distributions, plugin folders and ``direct``.

    Reads manifests only; no plugin module is imported. Broken manifests, entry points
    without a manifest and duplicates become ``problems``; discovery never raises for them.

    Args:
        plugin_dirs: plugin folders, or folders of plugin folders (one level deep).
        entry_points: scan the ``wiseflow.plugins`` entry points of ``sys.path``.
        direct: candidates handed in as they are (tests, embedding).
        cache_dir: keep parsed files here between runs (see ``_cache``); None: no cache.
        installed: ``<data_dir>/installed``, the plugins installed from a repository.

    Example:
        >>> found = discover(plugin_dirs=["plugins"], cache_dir=".wiseflow/cache")
        >>> [c.name for c in found.candidates]  # doctest: +SKIP
    """
    memo = Memo(cache_dir)
    candidates: list[Candidate] = list(direct)
    problems: list[Problem] = []
    for item in iter_plugin_folders(plugin_dirs):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        path, st = item
        result = _manifest(memo, path, st)
        manifest = result.manifest
        if manifest is None:
            problems.extend(result.problems)
            continue
        folder = os.path.dirname(path)
        candidates.append(
            Candidate(manifest=manifest, origin="dir", location=folder, code_root=folder)
        )
    if installed is not None:
        _scan_installed(memo, installed, candidates, problems)
    if entry_points:
        _scan_entry_points(memo, list(sys.path), candidates, problems)
    problems.extend(_duplicates(candidates))
    memo.save()
    stats = ScanStats(
        cache=memo.state, parsed=memo.parsed, reused=memo.reused, verified=memo.verified
    )
    return Discovery(tuple(candidates), tuple(problems), stats)


def _manifest(memo: Memo, path: str, st: os.stat_result) -> ManifestResult:
    try:
        return memo.get(path, st, lambda data: _parse(data, path), ManifestResult)
    except OSError as exc:
        problem = Problem(
            code="WF101",
            message=f"cannot read {path}: {exc.strerror or exc}",
            hint="check the file's permissions",
            file=path,
        )
        return ManifestResult(problems=(problem,))


def _parse(data: bytes, path: str) -> ManifestResult:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(
            code="WF101", message=f"{path} is not UTF-8: {exc}", hint="save it as UTF-8", file=path
        )
        return ManifestResult(problems=(problem,))
    try:
        return ManifestResult(manifest=parse_manifest(text, path=path))
    except ManifestError as err:
        name = err.plugin if err.plugin and err.plugin != path else None
        problems = tuple(
            Problem(
                code=p.code,
                message=p.message if p.message.startswith(path) else f"{path}: {p.message}",
                hint=p.hint or err.hint,
                file=p.file or path,
                line=p.line,
                plugin=p.plugin or name,
            )
            for p in err.as_problems()
        )
        return ManifestResult(problems=problems, name=name)


def _scan_installed(
    memo: Memo, root: str | Path, candidates: list[Candidate], problems: list[Problem]
) -> None:
    found = installed_folders(root)
    if isinstance(found, Problem):
        problems.append(found)
        return
    for folder, entry in found:
        path = os.path.join(folder, MANIFEST_NAME)
        try:
            st = os.stat(path)
        except OSError as exc:
            problems.append(
                Problem(
                    code="WF101",
                    message=f"installed plugin {folder} has no readable plugin.toml: "
                    f"{exc.strerror or exc}",
                    hint="reinstall it with `wiseflow plugins install`",
                    file=path,
                )
            )
            continue
        manifest = _manifest(memo, path, st).manifest
        if manifest is None or manifest.version != entry.version:
            problems.append(
                Problem(
                    code="WF101",
                    message=f"installed plugin {folder} is not the version recorded "
                    f"({entry.version}) or its plugin.toml is invalid",
                    hint="reinstall it with `wiseflow plugins install`",
                    file=path,
                )
            )
            continue
        # a package's wheel keeps plugin.toml inside the package (``pkg/plugin.toml``, entry
        # ``pkg.module:Class``): it imports from the install folder holding the package
        root = str(import_root(Path(folder), manifest.entry))
        if root not in (folder, os.path.dirname(folder)):
            root = folder  # never above its own install folder
        candidates.append(
            Candidate(manifest=manifest, origin="repo", location=entry.url, code_root=root)
        )


class _Roots:
    """``sys.path`` folders with their top-level names, listed once per scan."""

    def __init__(self, path: Sequence[str]) -> None:
        self.roots: list[str] = []
        for entry in path:
            root = os.path.abspath(entry or ".")
            if root not in self.roots:
                self.roots.append(root)
        self._tops: dict[str, frozenset[str]] = {}

    def holding(self, top: str) -> list[str]:
        out = []
        for root in self.roots:
            names = self._tops.get(root)
            if names is None:
                try:
                    names = frozenset(os.listdir(root))
                except OSError:
                    names = frozenset()
                self._tops[root] = names
            if top in names or f"{top}.py" in names:
                out.append(root)
        return out


def _scan_entry_points(
    memo: Memo, path: list[str], candidates: list[Candidate], problems: list[Problem]
) -> None:
    roots = _Roots(path)
    for dist in iter_dists(path):
        ep_file = f"{dist.meta_dir}{os.sep}entry_points.txt"
        try:
            eps = memo.get(ep_file, os.stat(ep_file), _reader(dist), EntryPoints)
        except OSError:
            continue  # no entry points at all: not a plugin distribution
        for ep_name, value, target in eps.entries:
            found = _entry_point(memo, roots, eps.location, ep_name, value, target)
            if isinstance(found, Candidate):
                candidates.append(found)
            else:
                problems.extend(found)


def _reader(dist: Dist) -> Callable[[bytes], EntryPoints]:
    def read(data: bytes) -> EntryPoints:
        eps = parse_entry_points(data)
        if not eps.entries:
            return eps
        return EntryPoints(eps.entries, location=dist_location(dist))

    return read


def _entry_point(
    memo: Memo, roots: _Roots, location: str, ep_name: str, value: str, target: str
) -> Candidate | list[Problem]:
    def bad(message: str, hint: str, file: str | None = None) -> list[Problem]:
        where = f"entry point {ep_name!r} = {value!r} of {location}"
        return [
            Problem(
                code="WF101", message=f"{where}: {message}", hint=hint, file=file, plugin=ep_name
            )
        ]

    if not target:
        return bad(f"is not 'module:Class' (group {GROUP})", "fix the distribution's entry point")
    module, _, attr = target.partition(":")
    manifest_path, st, found_at = locate_manifest(module, roots.holding(module.split(".")[0]))
    if found_at is None:
        return bad(f"module {module} is not on sys.path", "reinstall the distribution")
    if manifest_path is None or st is None:
        return bad(f"no plugin.toml for module {module} (looked beside {found_at})", _SHIP_HINT)
    result = _manifest(memo, manifest_path, st)
    manifest = result.manifest
    if manifest is None:
        return [
            p if p.plugin else msgspec.structs.replace(p, plugin=ep_name) for p in result.problems
        ]
    if manifest.name != ep_name:
        return bad(
            f"names plugin {ep_name!r} but {manifest_path} says name = {manifest.name!r}",
            "make the entry point's name equal the manifest's name",
            manifest_path,
        )
    if manifest.entry != f"{module}:{attr}":
        return bad(
            f"points at {module}:{attr} but {manifest_path} says entry = {manifest.entry!r}",
            "make the entry point's value equal the manifest's entry",
            manifest_path,
        )
    return Candidate(manifest=manifest, origin="entry-point", location=location, entry_point=value)


def _duplicates(candidates: list[Candidate]) -> list[Problem]:
    """WF104 for the same name at the same version from two places."""
    by_name: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_name.setdefault(c.name, []).append(c)
    out: list[Problem] = []
    for group in by_name.values():
        if len(group) < 2:
            continue
        first: dict[str, Candidate] = {}
        for c in sorted(group, key=lambda c: c.precedence):
            other = first.setdefault(_norm_version(c.version), c)
            if other is c or (other.origin, other.location) == (c.origin, c.location):
                continue
            out.append(
                Problem(
                    code=DuplicatePlugin.default_code,
                    message=(
                        f"plugin {c.name!r} {c.version} is offered twice: by {other.origin} "
                        f"{other.location} and by {c.origin} {c.location}; "
                        f"listings show the first, and nothing runs either until one is chosen"
                    ),
                    hint=f"remove one copy, or choose one in wiseflow.toml: "
                    f'[plugins.{c.name}] origin = "{other.location}"',
                    plugin=c.name,
                    file=c.manifest.path,
                )
            )
    return out


def _norm_version(version: str) -> str:
    """One spelling per PEP 440 version: "1.0" and "1.0.0" are the same release."""
    return canonicalize_version(version)
