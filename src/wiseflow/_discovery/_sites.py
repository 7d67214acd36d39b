"""Installed distributions on ``sys.path``, read without importing anything.

Mirrors ``importlib.metadata``: every ``*.dist-info`` / ``*.egg-info`` folder in a
``sys.path`` directory is a distribution, and the first one of a (normalised) name wins.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from ._cache import EntryPoints

__all__ = ["GROUP", "Dist", "dist_location", "iter_dists", "locate_manifest", "parse_entry_points"]

GROUP = "wiseflow.plugins"
_NORMALISE = re.compile(r"[-_.]+")


class Dist(NamedTuple):
    """One distribution's metadata folder."""

    meta_dir: str  # the *.dist-info / *.egg-info folder
    root: str  # the sys.path directory holding it
    stem: str  # folder name without suffix, e.g. "wiseflow_github-1.2.0"


def _normalise(name: str) -> str:
    return _NORMALISE.sub("_", name).lower()


def iter_dists(path: Sequence[str]) -> Iterator[Dist]:
    """Distributions visible on ``path`` (a ``sys.path``), first of each name only."""
    seen: set[str] = set()
    done: set[str] = set()
    for entry in path:
        root = os.path.abspath(entry or ".")
        if root in done:
            continue
        done.add(root)
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue  # a missing folder or a zip file: nothing installed there for us
        for name in names:
            if name.endswith(".dist-info"):
                stem = name[: -len(".dist-info")]
            elif name.endswith(".egg-info"):
                stem = name[: -len(".egg-info")]
            else:
                continue
            key = stem.partition("-")[0].lower()
            if "." in key or "__" in key:
                key = _normalise(key)
            if key in seen:
                continue
            seen.add(key)
            yield Dist(f"{root}{os.sep}{name}", root, stem)


def parse_entry_points(data: bytes) -> EntryPoints:
    """The ``wiseflow.plugins`` section of an ``entry_points.txt``.

    Parsed the way ``importlib.metadata`` does: ``[section]`` headers, ``name = value``
    lines, ``#`` / ``;`` comments; a line without ``=`` in our section is kept as a
    malformed entry so that it is reported.
    """
    text = data.decode("utf-8", errors="replace")
    if GROUP not in text:
        return EntryPoints(())  # the common case: not a wiseflow plugin distribution
    entries: list[tuple[str, str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == GROUP
            continue
        if inside:
            name, _, value = line.partition("=")
            value = value.strip()
            parts = split_value(value)
            entries.append((name.strip(), value, ":".join(parts) if parts else ""))
    return EntryPoints(tuple(entries))


def parse_meta(data: bytes) -> tuple[str, str]:
    """Name and version from the header block of ``METADATA`` / ``PKG-INFO``."""
    name = version = ""
    for raw in data.decode("utf-8", errors="replace").splitlines():
        if not raw.strip():
            break
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "name" and not name:
            name = value.strip()
        elif key == "version" and not version:
            version = value.strip()
    return name, version


def dist_location(dist: Dist) -> str:
    """``"name==version"`` from ``METADATA`` (``PKG-INFO`` for eggs), else the folder name."""
    leaf = "PKG-INFO" if dist.meta_dir.endswith(".egg-info") else "METADATA"
    try:
        with open(os.path.join(dist.meta_dir, leaf), "rb") as fh:
            name, version = parse_meta(fh.read(16384))
    except OSError:
        name = version = ""
    if not name or not version:
        name, _, version = dist.stem.partition("-")
    return f"{name}=={version}"


def split_value(value: str) -> tuple[str, str] | None:
    """``"pkg.mod:Class [extra]"`` -> ``("pkg.mod", "Class")``; None if malformed."""
    value = value.split("[", 1)[0].strip()
    module, sep, attr = value.partition(":")
    module, attr = module.strip(), attr.strip()
    if not sep or not module or not attr:
        return None
    if not all(p.isidentifier() for p in module.split(".")):
        return None
    if not all(p.isidentifier() for p in attr.split(".")):
        return None
    return module, attr


def locate_manifest(
    module: str, roots: Sequence[str]
) -> tuple[str | None, os.stat_result | None, str | None]:
    """Where ``plugin.toml`` for ``module`` lives, found by paths alone (nothing imported).

    Rule: in the first root that holds ``module`` (as in import order), for module
    ``a.b.c`` the manifest is ``a/b/c/plugin.toml`` when ``c`` is a package, or
    ``a/b/plugin.toml`` beside a module file ``a/b/c.py``. A top-level single-file module
    cannot carry a manifest.

    Returns:
        (manifest path, its stat; or None, None), and where the module was found (or None).
    """
    parts = module.split(".")
    for root in roots:
        base = os.sep.join((root, *parts))
        manifest = f"{base}{os.sep}plugin.toml"
        try:
            return manifest, os.stat(manifest), base  # the common case: one stat
        except OSError:
            pass
        if os.path.isdir(base):
            return None, None, base
        if os.path.isfile(base + ".py"):
            if len(parts) == 1:
                return None, None, base + ".py"
            manifest = os.path.join(os.path.dirname(base), "plugin.toml")
            try:
                return manifest, os.stat(manifest), base + ".py"
            except OSError:
                return None, None, base + ".py"
    return None, None, None
