"""Builders for discovery and resolution tests: real dist-infos, folders, candidates."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from wiseflow._contract._manifest import Manifest, Requirement
from wiseflow._discovery import Candidate


def manifest_text(
    name: str,
    version: str = "1.0.0",
    *,
    entry: str | None = None,
    kind: str = "processor",
    api: str = ">=1,<2",
    requires: Mapping[str, str] | None = None,
    extra: str = "",
) -> str:
    """A valid ``plugin.toml`` (``extra`` lines go under ``[plugin]``)."""
    lines = [
        "[plugin]",
        f'name = "{name}"',
        f'version = "{version}"',
        f'kind = "{kind}"',
        f'entry = "{entry or name.replace("-", "_") + ".plugin:Plugin"}"',
        f'api = "{api}"',
        extra,
    ]
    if requires:
        lines.append("[plugin.requires]")
        lines += [f'{dep} = "{spec}"' for dep, spec in requires.items()]
    return "\n".join(lines) + "\n"


def write_dist(
    site: Path,
    dist: str,
    version: str,
    entry_points: Mapping[str, str],
    files: Mapping[str, str],
    *,
    egg: bool = False,
) -> Path:
    """Install distribution ``dist`` into ``site`` by hand: metadata, entry points, files."""
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    stem = f"{dist.replace('-', '_')}-{version}"
    meta = site / (f"{stem}.egg-info" if egg else f"{stem}.dist-info")
    meta.mkdir(parents=True, exist_ok=True)
    (meta / ("PKG-INFO" if egg else "METADATA")).write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n\nA test distribution.\n",
        encoding="utf-8",
    )
    eps = "[wiseflow.plugins]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    (meta / "entry_points.txt").write_text(eps, encoding="utf-8")
    record = [f"{rel},," for rel in files] + [f"{meta.name}/entry_points.txt,,"]
    (meta / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")
    return meta


def install_plugin(
    site: Path,
    name: str,
    version: str = "1.0.0",
    *,
    dist: str | None = None,
    code: str = "class Plugin:\n    pass\n",
    requires: Mapping[str, str] | None = None,
) -> Path:
    """A one-plugin distribution: package ``<name>_pkg`` with ``plugin.toml`` inside."""
    pkg = name.replace("-", "_") + "_pkg"
    entry = f"{pkg}:Plugin"
    write_dist(
        site,
        dist or f"wf-{name}",
        version,
        {name: entry},
        {
            f"{pkg}/__init__.py": code,
            f"{pkg}/plugin.toml": manifest_text(name, version, entry=entry, requires=requires),
        },
    )
    return site / pkg


def plugin_folder(root: Path, name: str, version: str = "1.0.0", **kw: object) -> Path:
    """A folder plugin ``root/name`` with ``plugin.toml`` and its code."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        manifest_text(name, version, entry=f"{name.replace('-', '_')}_code:Plugin", **kw),  # type: ignore[arg-type]
        encoding="utf-8",
    )
    (folder / f"{name.replace('-', '_')}_code.py").write_text("class Plugin:\n    pass\n")
    return folder


def age(*paths: Path, seconds: float = 3600) -> None:
    """Move mtimes into the past, as for files installed a while ago (not 'racy')."""
    past = time.time() - seconds
    for top in paths:
        for dirpath, _dirs, names in os.walk(top):
            for n in names:
                os.utime(os.path.join(dirpath, n), (past, past))
        if top.is_file():
            os.utime(top, (past, past))


def cand(
    name: str,
    version: str = "1.0",
    requires: Mapping[str, str] | None = None,
    *,
    optional: Mapping[str, str] | None = None,
    origin: str = "direct",
    location: str = "<direct>",
    **manifest: object,
) -> Candidate:
    """A direct candidate with the given requirements (no files needed)."""
    reqs = tuple(Requirement(name=n, version=s) for n, s in (requires or {}).items())
    reqs += tuple(
        Requirement(name=n, version=s, optional=True) for n, s in (optional or {}).items()
    )
    m = Manifest(
        name=name,
        version=version,
        kind="processor",
        entry=f"{name.replace('-', '_')}:Plugin",
        requires=reqs,
        **manifest,  # type: ignore[arg-type]
    )
    return Candidate(manifest=m, origin=origin, location=location)
