"""Importing a plugin's entry (``module:Class``) — only when it is about to run.

Folder plugins are imported as a private package named after the plugin, so that two
plugins whose modules share a name (``plugin.py``) never collide in ``sys.modules``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ._errors import EntryNotFound

__all__ = ["import_entry"]


def _alias(plugin: str, root: Path | None = None) -> str:
    """A private package name per plugin *and folder*: two copies never share modules."""
    base = "_wiseflow_plugin_" + plugin.replace("-", "_")
    if root is None:
        return base
    digest = hashlib.blake2s(str(root.resolve()).encode(), digest_size=4).hexdigest()
    return f"{base}_{digest}"


def import_entry(entry: str, *, plugin: str, code_root: str | None) -> Any:
    """The object ``entry`` names; WF102 when the module or attribute does not exist."""
    module_name, _, attr = entry.partition(":")
    try:
        if code_root is None:
            module = importlib.import_module(module_name)
        else:
            module = _import_from_folder(module_name, plugin=plugin, root=Path(code_root))
    except EntryNotFound:
        raise
    except ModuleNotFoundError as exc:
        raise EntryNotFound(
            f"entry module {module_name!r} not found: {exc}",
            plugin=plugin,
            hint=f"check `entry` in plugin.toml; looked in {code_root or 'installed packages'}",
        ) from None
    except Exception as exc:
        raise EntryNotFound(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}",
            plugin=plugin,
            hint="fix the error in the plugin's module (run with --debug for the traceback)",
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise EntryNotFound(
                f"{module_name!r} has no attribute {attr!r}",
                plugin=plugin,
                hint="check the class name after ':' in `entry`",
            ) from None
    return obj


def _import_from_folder(module_name: str, *, plugin: str, root: Path) -> Any:
    package = _alias(plugin, root)
    if package not in sys.modules:
        spec = importlib.util.spec_from_loader(package, loader=None, is_package=True)
        assert spec is not None
        pkg = importlib.util.module_from_spec(spec)
        pkg.__path__ = [str(root)]
        sys.modules[package] = pkg
    full = f"{package}.{module_name}"
    if module_name.split(".", maxsplit=1)[0] not in _top_level_names(root):
        raise EntryNotFound(
            f"entry module {module_name!r} not found in {root}",
            plugin=plugin,
            hint=f"put {module_name.replace('.', '/')}.py in the plugin folder",
        )
    return importlib.import_module(full)


def _top_level_names(root: Path) -> set[str]:
    names = set()
    for child in root.iterdir():
        if child.suffix == ".py":
            names.add(child.stem)
        elif child.is_dir() and (child / "__init__.py").exists():
            names.add(child.name)
    return names


def forget_folder_plugin(plugin: str) -> None:
    """Drop a folder plugin's modules from ``sys.modules`` (uninstall, reload)."""
    prefix = _alias(plugin)
    for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + "_")]:
        del sys.modules[name]
