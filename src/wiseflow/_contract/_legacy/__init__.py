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

__all__ = ["ADAPTER", "import_legacy", "legacy_manifest"]

#: The value of ``[plugin] adapter`` for an original-API entry.
ADAPTER = "legacy"


def legacy_manifest(
    root: str | None, files: Mapping[str, str] | None, plugin: str
) -> dict[str, Any] | None:
    """The ``[plugin]`` table of the manifest in ``root`` when it says
    ``adapter = "legacy"``, else None.

    The host validated the manifest before starting anything; this reads it again where
    the code is loaded (a worker gets only the entry). For a locked plugin the bytes read
    must be the approved ones (WF303), as for every module the plugin imports.
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
    if not isinstance(table, dict) or table.get("adapter") != ADAPTER:
        return None
    return table


def import_legacy(
    imported: Callable[[], Any], *, kind: str, plugin: str, manifest: dict[str, Any]
) -> type[Any]:
    """``imported()`` (the entry's import) with ``core.plugins`` available, adapted.

    The variables the manifest declares under ``env`` are the ones the adapter asks the
    host for (``ctx.secret``) and hands to the legacy code in ``os.environ``.
    """
    from ._adapter import adapt
    from ._compat import install

    perms = manifest.get("permissions")
    env = perms.get("env", []) if isinstance(perms, dict) else []
    names = tuple(n for n in env if isinstance(n, str))[:100] if isinstance(env, list) else ()
    install()
    return adapt(imported(), kind, plugin, env=names)
