"""What a legacy plugin's code uses, as the static audit sees it, and what to declare.

The audit (``wiseflow._policy._audit``) walks every module of the folder, unchanged; its
findings say which capabilities the code reaches for. The manifest written declares only
what reading found *literally* (LEGACY-API.md, "Permissions"): environment variables by
name, hosts of literal ``http(s)://`` URLs when the code makes network connections, and
absolute paths it reads. Everything else the audit saw is reported, not declared. Nothing
is granted: the operator grants with the printed commands, as for any plugin.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._policy._audit._declared import Declared, against_manifest
from .._policy._audit._files import plugin_files
from .._policy._audit._fold import UNKNOWN
from .._policy._audit._scope import Finding
from .._policy._audit._source import scan

__all__ = ["Uses", "folder_sources", "read_uses"]

_URL = re.compile(r"^(https?|wss?)://([A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:[/?#]|$)")
_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
_NETWORK_RULES = ("network", "raw-network")
#: At most this many uses of one kind are listed (a hostile file can name thousands).
_MAX = 100


@dataclass
class Uses:
    """What the code was seen to use, and the literal permissions to declare."""

    seen: list[dict[str, Any]] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    fs_read: list[str] = field(default_factory=list)

    def add(self, kind: list[str], value: str) -> None:
        if value not in kind and len(kind) < _MAX:
            kind.append(value)


def folder_sources(folder: Path) -> list[tuple[str, str]]:
    """(path relative to ``folder``, source) of every module the audit reads there."""
    return [
        (item.path.relative_to(folder).as_posix(), item.source)
        for item in plugin_files(folder)
        if item.source is not None
    ]


def read_uses(sources: list[tuple[str, str]]) -> Uses:
    """The audit's findings for ``sources`` and the permissions they name literally.

    Each finding is rated as ``wiseflow plugins audit`` rates it once the manifest
    declares what was found (``against_manifest``), so the report shows the severity the
    operator will see after migrating.
    """
    uses = Uses()
    hosts: list[str] = []
    found: list[tuple[str, Finding, str | None]] = []
    for rel, source in sources:
        for f in scan(source, rel):
            found.append((rel, f, _declared(uses, f.rule, f.detail)))
        hosts.extend(_literal_hosts(source))
    if any(f.rule in _NETWORK_RULES for _, f, _ in found):
        for host in hosts:
            uses.add(uses.network, host)
    declared = Declared(tuple(uses.network), tuple(uses.env), tuple(uses.fs_read))
    for rel, f, entry in found[:_MAX]:
        rated = against_manifest(f, declared)
        uses.seen.append(
            {
                "rule": rated.rule,
                "severity": rated.severity,
                "message": rated.message,
                "file": rel,
                "line": rated.line or None,
                "declared": entry,
            }
        )
    return uses


def _declared(uses: Uses, rule: str, detail: str) -> str | None:
    """The permission entry ``detail`` declares for ``rule`` (literal values only)."""
    if UNKNOWN in detail:
        return None
    if rule == "environment" and _ENV.match(detail):
        uses.add(uses.env, detail)
        return f"env {detail}"
    if rule == "file-access" and detail.startswith("/") and "\n" not in detail:
        uses.add(uses.fs_read, detail[:500])
        return f"fs_read {detail[:500]}"
    return None


def _literal_hosts(source: str) -> list[str]:
    """``host:port`` of every literal ``http(s)://`` or ``ws(s)://`` URL in ``source``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _URL.match(node.value)
            if m and len(found) < _MAX:
                port = int(m.group(3)) if m.group(3) else _PORTS[m.group(1)]
                if 0 < port < 65536:
                    entry = f"{m.group(2).lower()}:{port}"
                    if entry not in found:
                        found.append(entry)
    return found
