"""Importing a plugin's entry (``module:Class``) — only when it is about to run.

Folder plugins are imported as a private package named after the plugin, so that two
plugins whose modules share a name (``plugin.py``) never collide in ``sys.modules``.

Every module inside a plugin's folder is loaded from its source, never from bytecode (a
planted or stale ``.pyc`` in ``__pycache__`` is ignored, a ``.pyc`` without source is
refused), and, for a plugin in ``wiseflow.lock``, only after the bytes about to be compiled
match the approved SHA-256: the file checked is the file run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ._errors import EntryNotFound, IntegrityError

__all__ = ["import_entry", "verify_tree"]


def _alias(plugin: str, root: Path | None = None) -> str:
    """A private package name per plugin *and folder*: two copies never share modules."""
    base = "_wiseflow_plugin_" + plugin.replace("-", "_")
    if root is None:
        return base
    digest = hashlib.blake2s(str(root.resolve()).encode(), digest_size=4).hexdigest()
    return f"{base}_{digest}"


def import_entry(
    entry: str,
    *,
    plugin: str,
    code_root: str | None,
    root: str | None = None,
    files: Mapping[str, str] | None = None,
) -> Any:
    """The object ``entry`` names; WF102 when the module or attribute does not exist.

    Args:
        root: the plugin's folder (holding ``plugin.toml``); its modules load from source.
        files: the approved ``{relative path: sha256}`` of that folder (a locked plugin):
            the folder's file names are compared first (the host hashed every file just
            before), then every module's bytes as it loads (WF303 on any difference).
    """
    module_name, _, attr = entry.partition(":")
    folder = root or code_root
    if folder is not None:
        if files is not None:
            verify_tree(folder, files, plugin=plugin, deep=False)
        _guard(folder, files, plugin)
    try:
        if code_root is None:
            module = importlib.import_module(module_name)
        else:
            module = _import_from_folder(module_name, plugin=plugin, root=Path(code_root))
    except (EntryNotFound, IntegrityError):
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


def verify_tree(root: str, files: Mapping[str, str], *, plugin: str, deep: bool = True) -> None:
    """WF303 unless the folder ``root`` holds exactly the approved ``files``.

    ``deep=False`` compares file names only (no file is read): for a worker started just
    after the host verified every byte, whose modules are then checked as they load.
    """
    from ._integrity import TreeError, diff_files, hash_tree, plugin_files

    try:
        if deep:
            current = hash_tree(root)
        else:
            current = {rel: files.get(rel, "") for rel, _ in plugin_files(root)}
    except (TreeError, OSError) as exc:
        raise IntegrityError(
            f"plugin '{plugin}': its files cannot be verified: {exc}",
            plugin=plugin,
            hint="restore the plugin's folder, or approve it again: "
            f"wiseflow plugins grant {plugin}",
        ) from None
    changes = diff_files(files, current)
    if changes:
        raise IntegrityError(
            f"plugin '{plugin}' changed since it was approved ({changes.describe()})",
            plugin=plugin,
            hint=f"review the change, then approve it again: wiseflow plugins grant {plugin}",
        )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class _PluginFinder(importlib.abc.MetaPathFinder):
    """Claims every module whose file lies in one plugin's folder (see module docstring)."""

    def __init__(self, root: str, files: Mapping[str, str] | None, plugin: str) -> None:
        self.lexical = os.path.abspath(root)
        self.real = os.path.realpath(root)
        self.files = files
        self.plugin = plugin

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        last = fullname.rpartition(".")[2]
        for entry in path if path is not None else sys.path:
            folder = os.path.abspath(entry or ".")
            if not (_inside(folder, self.lexical) or _inside(folder, self.real)
                    or _inside(self.lexical, folder)):  # fmt: skip
                continue
            spec = self._spec_in(fullname, os.path.join(folder, last))
            if spec is not None:
                return spec
        return None

    def _spec_in(self, fullname: str, base: str) -> importlib.machinery.ModuleSpec | None:
        init = os.path.join(base, "__init__.py")
        if os.path.isfile(init) and self._owns(init):
            return self._source_spec(fullname, init, package=base)
        if os.path.isfile(base + ".py") and self._owns(base + ".py"):
            return self._source_spec(fullname, base + ".py", package=None)
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            native = base + suffix
            if os.path.isfile(native) and self._owns(native):
                self._check(native, None)
                loader = importlib.machinery.ExtensionFileLoader(fullname, native)
                return importlib.util.spec_from_file_location(fullname, native, loader=loader)
        for compiled in (base + ".pyc", os.path.join(base, "__init__.pyc")):
            if os.path.isfile(compiled) and self._owns(compiled):
                raise IntegrityError(
                    f"plugin '{self.plugin}': {compiled} is bytecode without source; "
                    "wiseflow never loads bytecode from a plugin's folder",
                    plugin=self.plugin,
                    hint="ship the .py source instead",
                )
        return None

    def _owns(self, path: str) -> bool:
        """True for files in the plugin's folder; symlinks out of it are refused."""
        if not (_inside(os.path.abspath(path), self.lexical)
                or _inside(os.path.abspath(path), self.real)):  # fmt: skip
            return False
        if "__pycache__" in path.split(os.sep):
            raise IntegrityError(
                f"plugin '{self.plugin}': {path} is inside __pycache__; wiseflow never "
                "loads code from there",
                plugin=self.plugin,
                hint="keep the plugin's modules outside __pycache__",
            )
        if not _inside(os.path.realpath(path), self.real):
            raise IntegrityError(
                f"plugin '{self.plugin}': {path} leads out of the plugin's folder",
                plugin=self.plugin,
                hint="plugins may not import code through symlinks out of their folder",
            )
        return True

    def _source_spec(
        self, fullname: str, path: str, *, package: str | None
    ) -> importlib.machinery.ModuleSpec | None:
        loader = _SourceOnlyLoader(fullname, path, self)
        return importlib.util.spec_from_file_location(
            fullname,
            path,
            loader=loader,
            submodule_search_locations=[package] if package is not None else None,
        )

    def _check(self, path: str, data: bytes | None) -> None:
        if self.files is None:
            return
        rel = os.path.relpath(os.path.realpath(path), self.real).replace(os.sep, "/")
        expected = self.files.get(rel)
        if data is None:
            from ._integrity import hash_file

            actual = hash_file(path)
        else:
            actual = hashlib.sha256(data).hexdigest()
        if expected != actual:
            raise IntegrityError(
                f"plugin '{self.plugin}': {rel} is not the file that was approved",
                plugin=self.plugin,
                hint=f"review the change, then approve it again: wiseflow plugins grant "
                f"{self.plugin}",
            )


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the module from the bytes it checked; never reads or writes bytecode."""

    def __init__(self, fullname: str, path: str, finder: _PluginFinder) -> None:
        super().__init__(fullname, path)
        self._finder = finder

    def get_code(self, fullname: str) -> Any:
        data = self.get_data(self.path)
        self._finder._check(self.path, data)
        return compile(data, self.path, "exec", dont_inherit=True)

    def set_data(self, path: str, data: Any, *, _mode: int = 0o666) -> None:
        return None  # no bytecode is written either


#: Plugin folders (lexical and real paths) whose bytecode Python must neither read nor write.
_NO_BYTECODE: set[str] = set()


def _refuse_bytecode_under(root: str) -> None:
    """Make Python's own source loaders ignore ``__pycache__`` inside ``root``.

    wiseflow's finder loads plugin modules from source, but a plugin may load a file with
    Python's own ``SourceFileLoader`` (``importlib.util.spec_from_file_location``,
    ``runpy``), which reads the bytecode cached beside it, and ``__pycache__`` is not
    pinned by the lock. Every ``SourceLoader.get_code`` asks the module-level
    ``cache_from_source`` where the bytecode is, and treats ``NotImplementedError`` as "no
    bytecode": it then compiles the source and writes nothing. Only paths inside plugin
    folders are affected; the host's and the standard library's bytecode is used as ever.
    """
    import importlib._bootstrap_external as external

    _NO_BYTECODE.update({os.path.abspath(root), os.path.realpath(root)})
    current = external.cache_from_source
    if getattr(current, "_wiseflow", False):
        return

    def cache_from_source(
        path: str, debug_override: bool | None = None, *, optimization: Any = None
    ) -> str:
        where = os.path.abspath(os.fspath(path))
        if any(_inside(where, folder) for folder in _NO_BYTECODE):
            raise NotImplementedError("wiseflow: no bytecode for plugin sources")
        return current(path, debug_override, optimization=optimization)

    cache_from_source._wiseflow = True  # type: ignore[attr-defined]
    # typeshed types it as an overload; ours accepts the same calls
    external.cache_from_source = cache_from_source  # type: ignore[assignment]


def _guard(root: str, files: Mapping[str, str] | None, plugin: str) -> None:
    """Put the finder for ``root`` first on ``sys.meta_path`` (once per folder)."""
    _refuse_bytecode_under(root)
    real = os.path.realpath(root)
    for finder in sys.meta_path:
        if isinstance(finder, _PluginFinder) and finder.real == real:
            finder.files = files  # a re-approval replaces what is expected
            return
    sys.meta_path.insert(0, _PluginFinder(root, files, plugin))
