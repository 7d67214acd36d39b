"""``core.plugins`` for original-API code, in the process that runs it and only there.

The original plugins import ``from core.plugins import ConnectorPlugin, ...`` (sometimes
``from core.plugins.base import PluginBase``). A finder placed *last* on ``sys.meta_path``
answers those three module names (``core``, ``core.plugins``, ``core.plugins.base``) with
the names of ``_core``: nothing is installed on disk, and a real ``core`` package found
earlier on ``sys.path`` still wins. It is added only when a plugin whose manifest says
``adapter = "legacy"`` is about to be imported (in its sandbox worker, or in the host for
a legacy plugin the operator runs ``trusted``); ``plugins migrate``, ``check`` and
``audit`` never import legacy code.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from . import _core

__all__ = ["install"]

#: Module name -> whether it is a package.
_MODULES = {"core": True, "core.plugins": True, "core.plugins.base": False}


class _CoreLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        if module.__name__ != "core":
            for name in _core.__all__:
                setattr(module, name, getattr(_core, name))
            module.__all__ = list(_core.__all__)  # type: ignore[attr-defined]
        module.__doc__ = "wiseflow's stand-in for the original WiseFlow plugin API"


class _CoreFinder(importlib.abc.MetaPathFinder):
    """Answers ``core``, ``core.plugins`` and ``core.plugins.base`` (see module docstring)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package = _MODULES.get(fullname)
        if package is None:
            return None
        return importlib.util.spec_from_loader(fullname, _CoreLoader(), is_package=package)


def install() -> None:
    """Make ``core.plugins`` importable in this process (once; last on ``sys.meta_path``)."""
    if not any(isinstance(f, _CoreFinder) for f in sys.meta_path):
        sys.meta_path.append(_CoreFinder())
