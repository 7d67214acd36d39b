"""``wiseflow plugins migrate PATH``: plugin.toml for plugins of the original API (SPEC §16).

Static only: legacy code is parsed (``_read``), audited (``_uses``, through the static
audit of ``wiseflow._policy._audit``) and described (``_plan``); it is never imported in
the host. For each plugin folder found, the plugin.toml it lacks is written (name
normalised, kind, entry, api range, ``adapter = "legacy"``, ``[plugin.requires]`` from
``PluginMetadata.dependencies``, the permissions reading found literally) and the report
says what was assumed, what the audit saw, and the ``wiseflow plugins grant`` command to
run. Nothing is granted.

PATH is a folder holding one legacy plugin (modules at its top level), a folder of such
folders, or one legacy ``.py`` file, which is copied into a folder of its own beside it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._contract._errors import DiscoveryError, ManifestError
from .._contract._manifest import MANIFEST_NAME, parse_manifest
from ._plan import Plan, as_doc, plan_folder
from ._read import read_folder, read_module, top_level_sources
from ._uses import folder_sources, read_uses

__all__ = ["Migration", "migrate"]

#: Subfolders looked at in a folder of plugin folders.
_MAX_FOLDERS = 500


@dataclass
class Migration:
    """What ``migrate`` did (or, with ``dry_run``, would do) for each plugin folder."""

    dry_run: bool
    plugins: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(not p["problems"] for p in self.plugins)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "dry_run": self.dry_run, "plugins": self.plugins}


def migrate(path: str | Path, *, dry_run: bool = False) -> Migration:
    """Write (or with ``dry_run`` only describe) the plugin.toml of each legacy plugin.

    Raises:
        DiscoveryError: WF100 when ``path`` does not exist or holds no legacy plugin.
    """
    target = Path(path)
    if not target.exists():
        raise DiscoveryError(
            f"{target} does not exist", plugin=str(target), hint="give a folder or a .py file"
        )
    out = Migration(dry_run=dry_run)
    for folder, single in _plugin_folders(target):
        out.plugins.append(_migrate_one(folder, single, dry_run))
    if not out.plugins:
        raise DiscoveryError(
            f"no plugin of the original WiseFlow API (importing core.plugins) in {target}",
            plugin=str(target),
            hint="give the folder holding the legacy plugin's module, a folder of such "
            "folders, or the module's .py file",
        )
    return out


def _imports_core(path: Path) -> bool:
    try:
        source = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return "core" in source and read_module(source, path, path.stem).imports_core


def _plugin_folders(target: Path) -> list[tuple[Path, Path | None]]:
    """(plugin folder, the single file it is made for or None), in a stable order."""
    if target.is_file():
        if target.suffix != ".py" or not _imports_core(target):
            return []
        return [(target.parent / target.stem, target)]
    if any(_imports_core(p) for p in top_level_sources(target)):
        return [(target, None)]
    found: list[tuple[Path, Path | None]] = []
    for child in sorted(target.iterdir())[:_MAX_FOLDERS]:
        if child.is_dir() and not child.is_symlink() and not child.name.startswith((".", "_")):
            modules, _ = read_folder(child)
            if any(m.imports_core for m in modules):
                found.append((child, None))
    return found


def _migrate_one(folder: Path, single: Path | None, dry_run: bool) -> dict[str, Any]:
    plan: Plan
    if single is not None:
        copy = folder / single.name
        if folder.exists() and not (copy.is_file() and copy.read_bytes() == single.read_bytes()):
            plan = Plan(folder=folder).problem(
                "WF100",
                f"{single.name} needs a folder of its own, and {folder} exists already",
                f"move {single.name} into a new folder and give that folder",
            )
            return _doc(plan, written=False, manifest=folder / MANIFEST_NAME)
        if not dry_run:
            folder.mkdir(exist_ok=True)
            shutil.copy2(single, copy)
        source = single.read_text("utf-8")
        modules = [read_module(source, folder / single.name, single.stem)]
        plan = plan_folder(folder, modules, [], read_uses([(single.name, source)]))
        plan.assumed.insert(0, f"{single.name} is copied into a folder of its own: {folder}")
    else:
        modules, unread = read_folder(folder)
        plan = plan_folder(folder, modules, unread, read_uses(folder_sources(folder)))
    manifest = folder / MANIFEST_NAME
    if plan.problems:
        return _doc(plan, written=False, manifest=manifest)
    text = plan.manifest_text()
    try:
        parse_manifest(text, path=str(manifest))
    except ManifestError as exc:  # a bug here, never the legacy code's: say so plainly
        plan.problem("WF101", f"the plugin.toml migrate made is invalid: {exc.message}",
                     "report this; write plugin.toml by hand meanwhile")  # fmt: skip
        return _doc(plan, written=False, manifest=manifest)
    if manifest.exists():
        plan.assumed.append(f"{MANIFEST_NAME} exists already: left as it is")
        return _doc(plan, written=False, manifest=manifest)
    if not dry_run:
        manifest.write_text(text, encoding="utf-8")
    return _doc(plan, written=not dry_run, manifest=manifest, text=text)


def _doc(plan: Plan, *, written: bool, manifest: Path, text: str | None = None) -> dict[str, Any]:
    doc = as_doc(plan)
    doc.update(manifest=str(manifest), written=written, plugin_toml=text)
    return doc
