"""Plugin folders: a folder holding ``plugin.toml``, or a folder of such folders."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._contract._errors import Problem
from .._contract._manifest import MANIFEST_NAME

__all__ = ["import_root", "iter_plugin_folders"]


def iter_plugin_folders(
    plugin_dirs: Sequence[str | Path],
) -> Iterator[tuple[str, os.stat_result] | Problem]:
    """Each plugin folder's ``plugin.toml`` path with its ``stat``, or a problem.

    An entry holding ``plugin.toml`` is itself a plugin folder; otherwise each of its
    direct subfolders holding one is (one level deep; hidden folders and ``__pycache__``
    are skipped). A folder listed twice is scanned once.
    """
    seen: set[str] = set()
    for raw in plugin_dirs:
        folder = os.path.abspath(os.fspath(raw))
        if folder in seen:
            continue
        seen.add(folder)
        own = os.path.join(folder, MANIFEST_NAME)
        try:
            yield own, os.stat(own)
            continue
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            yield _problem(folder, "is not a folder")
            continue
        except OSError as exc:
            yield _problem(folder, f"cannot be read: {exc.strerror or exc}")
            continue
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            yield _problem(folder, "does not exist")
            continue
        except OSError as exc:
            yield _problem(folder, f"cannot be listed: {exc.strerror or exc}")
            continue
        for name in names:
            if name.startswith((".", "__")):
                continue
            sub = os.path.join(folder, name)
            if sub in seen:
                continue
            manifest = os.path.join(sub, MANIFEST_NAME)
            try:
                st = os.stat(manifest)
            except OSError:
                continue  # not a plugin folder (or not a folder at all)
            seen.add(sub)
            yield manifest, st


def _problem(folder: str, what: str) -> Problem:
    return Problem(
        code="WF101",
        message=f"plugin folder {folder} {what}",
        hint="fix plugin_dirs in wiseflow.toml or the --plugin-dir option",
        file=folder,
    )


def _module_parts(entry: str) -> list[str]:
    return entry.partition(":")[0].split(".")


def import_root(folder: Path, entry: str) -> Path:
    """The folder ``entry``'s module imports from, for a plugin whose manifest is in ``folder``.

    A plain plugin folder (``entry = "plugin:Class"``) imports from itself. A manifest
    inside an installable package (``src/pkg/plugin.toml`` with ``entry =
    "pkg.module:Class"``) imports from the folder above the package (``src``).
    """
    parts = _module_parts(entry)
    top = parts[0]
    if (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file():
        return folder
    resolved = folder.resolve()
    # the manifest inside the package the module names (pkg/sub/plugin.toml for pkg.sub),
    # or beside its module file (pkg/plugin.toml for pkg.module)
    for package in (parts, parts[:-1]):
        deep_enough = package and len(resolved.parts) > len(package)
        if deep_enough and list(resolved.parts[-len(package) :]) == package:
            return resolved.parents[len(package) - 1]
    return folder
