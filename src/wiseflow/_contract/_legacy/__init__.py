"""Plugins written for the original WiseFlow plugin API, run through an adapter (SPEC §16).

A folder plugin whose ``plugin.toml`` says ``adapter = "legacy"`` names an original-API
class in its ``entry``. Where plugin code is loaded (``PluginInstance.load``, in the
sandbox worker or, for a trusted plugin, in the host), :func:`import_legacy` makes
``core.plugins`` importable (``_compat``), imports the entry as any entry is imported
(same finder, same integrity checks), and wraps the class (``_adapter``) so that the host
runs it like any other plugin. Items map to records as ``_mapping`` describes.

Modules: ``_core`` (the ``core.plugins`` names), ``_compat`` (the import of them),
``_mapping`` (dicts and records), ``_adapter`` (the three wrapper kinds). This module is
what the loader asks first, for every folder plugin: it reads the manifest's one key and
imports the rest only for a legacy plugin.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import IntegrityError
from .._toml import TomlProblem, loads, read_limited

__all__ = ["ADAPTER", "declared_adapter", "import_legacy"]

#: The value of ``[plugin] adapter`` for an original-API entry.
ADAPTER = "legacy"


def declared_adapter(root: str | None, files: Mapping[str, str] | None, plugin: str) -> str | None:
    """The ``adapter`` the plugin's manifest in ``root`` declares, or None.

    The host validated the manifest before starting anything; this reads its one key again
    where the code is loaded (a worker gets only the entry). For a locked plugin the bytes
    read must be the approved ones (WF303), as for every module the plugin imports.
    """
    if root is None:
        return None
    path = os.path.join(root, "plugin.toml")
    try:
        data = read_limited(path)
    except OSError:
        return None  # no manifest here: the host found it elsewhere (an installed plugin)
    if b"adapter" not in data:
        return None  # the usual plugin: nothing parsed twice
    if files is not None and files.get("plugin.toml") != hashlib.sha256(data).hexdigest():
        raise IntegrityError(
            f"plugin '{plugin}': plugin.toml is not the file that was approved",
            plugin=plugin,
            hint=f"review the change, then approve it again: wiseflow plugins grant {plugin}",
        )
    try:
        table = loads(data.decode("utf-8")).get("plugin")
    except (TomlProblem, UnicodeDecodeError):
        return None  # the host's reading of it stands (it refuses an invalid manifest)
    value = table.get("adapter") if isinstance(table, dict) else None
    return value if isinstance(value, str) else None


def import_legacy(imported: Callable[[], Any], *, kind: str, plugin: str) -> type[Any]:
    """``imported()`` (the entry's import) with ``core.plugins`` available, adapted."""
    from ._adapter import adapt
    from ._compat import install

    install()
    return adapt(imported(), kind, plugin)
