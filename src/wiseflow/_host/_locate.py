"""Where a plugin's files are: project folders, package folders and classes in hand.

Paths only; nothing here imports plugin code. Used by ``plugins check``, ``plugins test``
and the testing kit, which accept a project folder (holding ``pyproject.toml``), the folder
holding ``plugin.toml``, or a plugin class defined in a module file.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from .._contract._manifest import MANIFEST_NAME
from .._discovery import Candidate
from .._discovery._folders import import_root

__all__ = [
    "class_root", "import_root", "importable_in_worker", "manifest_path", "pythonpath_root",
]  # fmt: skip


def manifest_path(target: Path) -> Path:
    """The ``plugin.toml`` that ``target`` stands for (which may not exist).

    ``target`` is the manifest itself, the folder holding it, or a project folder (with
    ``pyproject.toml``) whose package holds it: ``src/*/plugin.toml`` or ``*/plugin.toml``.
    """
    if not target.is_dir():
        return target
    own = target / MANIFEST_NAME
    if own.is_file() or not (target / "pyproject.toml").is_file():
        return own
    for pattern in (f"src/*/{MANIFEST_NAME}", f"*/{MANIFEST_NAME}"):
        found = sorted(target.glob(pattern))
        if found:
            return found[0]
    return own


def class_root(cls: type) -> Path | None:
    """The folder ``cls``'s module imports from, or None when a worker could not import it.

    The module must be a file (not ``__main__``), the class reachable by its qualified
    name (not defined inside a function), and the module's dotted name must match the
    file's place under the folder returned.
    """
    if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
        return None
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return None
    path = Path(file).resolve()
    parts = cls.__module__.split(".")
    if path.name == "__init__.py":
        path = path.parent
    if path.stem != parts[-1]:
        return None
    root = path
    for name in reversed(parts[:-1]):
        root = root.parent
        if root.name != name:
            return None
    root = root.parent
    obj: object = module
    for attr in cls.__qualname__.split("."):
        obj = getattr(obj, attr, None)
    return root if obj is cls else None


@functools.cache
def _isolated_path() -> frozenset[str]:
    """``sys.path`` of ``python -I`` (how workers start): site-packages and ``.pth`` paths."""
    try:
        out = subprocess.run(
            [sys.executable, "-I", "-c", "import sys; print('\\n'.join(sys.path))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(os.path.realpath(p) for p in out.splitlines() if p)


def importable_in_worker(root: Path) -> bool:
    """True when modules under ``root`` import by name in a worker (installed code).

    Workers start isolated (``python -I``): they see site-packages and what ``.pth`` files
    add (editable installs), never the current folder or what pytest put on ``sys.path``.
    """
    return os.path.realpath(root) in _isolated_path()


def pythonpath_root(cand: Candidate) -> str | None:
    """The ``PYTHONPATH`` folder an installed plugin imports from, when only that finds it.

    The host found the plugin's distribution through ``PYTHONPATH``; a worker starts
    isolated (``python -I``), which ignores it. That folder becomes the worker's code root
    (read-only to it), as a plugin folder's is. None for any other plugin.
    """
    extra = os.environ.get("PYTHONPATH")
    root = cand.manifest.root
    if not extra or cand.origin != "entry-point" or cand.code_root or root is None:
        return None
    found = os.path.realpath(import_root(root, cand.manifest.entry))
    on_path = {os.path.realpath(p) for p in extra.split(os.pathsep) if p}
    return found if found in on_path else None
