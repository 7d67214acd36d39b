"""Plugins installed from a repository: ``<data_dir>/installed/`` (SPEC §14).

``wiseflow plugins install`` unpacks each plugin into ``<data_dir>/installed/<name>-<version>/``
and lists it in ``installed.json`` beside them (written atomically, last but the lock). An
installed plugin is a plugin folder (``<folder>/<package>/plugin.toml`` with its code)
whose origin is the repository it came from: ``repo:<normalised url>``. A folder not listed
in ``installed.json`` (a half-finished install's leftovers) is not a plugin.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import final

import msgspec

from .._contract._errors import Problem

__all__ = [
    "INSTALLED",
    "Installed",
    "InstalledPlugin",
    "installed_folders",
    "load_installed",
    "save_installed",
]

INSTALLED = "installed.json"
_MAX_BYTES = 4 << 20


@final
class InstalledPlugin(msgspec.Struct, frozen=True, kw_only=True):
    """One installed plugin.

    Attributes:
        version: the installed version.
        folder: ``<name>-<version>`` under ``<data_dir>/installed/``.
        plugin: the plugin folder inside it (holding ``plugin.toml``), relative.
        url: the repository's normalised URL (the origin is ``repo:<url>``).
        wheel: ``sha256:<hex>`` of the wheel TUF verified.
    """

    version: str
    folder: str
    plugin: str
    url: str
    wheel: str = ""


@final
class Installed(msgspec.Struct, kw_only=True):
    """``installed.json``: the installed set."""

    format: int = 1
    plugins: dict[str, InstalledPlugin] = msgspec.field(default_factory=dict)


def load_installed(root: str | Path) -> Installed | Problem:
    """The installed set under ``root`` (absent: empty), or the problem reading it."""
    path = Path(root) / INSTALLED
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return Installed()
    except OSError as exc:
        return _problem(path, f"cannot be read: {exc.strerror or exc}")
    if len(data) > _MAX_BYTES:
        return _problem(path, "is too large")
    try:
        return msgspec.json.decode(data, type=Installed)
    except msgspec.DecodeError as exc:
        return _problem(path, f"is not valid: {exc}")


def save_installed(root: str | Path, installed: Installed) -> None:
    """Write ``installed.json`` atomically (a reader sees the old set or the new one)."""
    folder = Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INSTALLED
    tmp = folder / f".{INSTALLED}.{os.getpid()}.tmp"
    data = msgspec.json.format(msgspec.json.encode(installed))
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def installed_folders(root: str | Path) -> list[tuple[str, InstalledPlugin]] | Problem:
    """(plugin folder, entry) of every installed plugin, in name order."""
    got = load_installed(root)
    if isinstance(got, Problem):
        return got
    base = os.path.abspath(os.fspath(root))
    out = []
    for name in sorted(got.plugins):
        entry = got.plugins[name]
        folder = os.path.normpath(os.path.join(base, entry.folder, entry.plugin))
        if not folder.startswith(base + os.sep):  # a hand-edited file naming ../elsewhere
            continue
        out.append((folder, entry))
    return out


def _problem(path: Path, what: str) -> Problem:
    return Problem(
        code="WF101",
        message=f"{path} {what}",
        hint="reinstall the plugins with `wiseflow plugins install`",
        file=str(path),
    )
