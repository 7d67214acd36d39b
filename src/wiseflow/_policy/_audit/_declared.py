"""Code against manifest: a capability the plugin declares is information, one it hides is not.

``audit_source`` rates what code does on its own. Inside a plugin the manifest says what the
plugin asks for, so the same statement is judged again: ``subprocess.run(["git", ...])`` in
a plugin with ``subprocess = true`` is information; without it the plugin starts programs
it did not declare (high). Behaviours no permission covers (executing decoded code,
sending the environment out, writing a crontab) keep their severity whatever is declared.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..._contract._manifest import Permissions
from ._rules import RANK, raise_to
from ._scope import Finding, secret_name

__all__ = ["Declared", "against_manifest"]


class Declared(NamedTuple):
    """What a plugin declares it needs: hosts, variables, folders, programs."""

    network: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    fs_read: tuple[str, ...] = ()
    subprocess: bool = False

    @classmethod
    def of(cls, perms: Permissions) -> Declared:
        """The declared view of a manifest's permissions."""
        return cls(perms.network, perms.env, perms.fs_read, perms.subprocess)


_LOW = RANK["medium"]  # capability findings at or below this are what a permission covers


def against_manifest(finding: Finding, declared: Declared) -> Finding:
    """``finding`` re-rated for a plugin that declares ``declared``."""
    rule, severity = finding.rule, finding.severity
    capability = RANK[severity] <= _LOW
    if rule in ("network", "raw-network"):
        if not declared.network:
            return _set(finding, raise_to(severity, "high"), "but declares no network permission")
        if capability and rule == "network":
            return _set(finding, "info", "(network is declared)")
    elif rule == "subprocess":
        if not declared.subprocess:
            return _set(finding, raise_to(severity, "high"), "but does not declare subprocess")
        if capability:
            return _set(finding, "info", "(subprocess is declared)")
    elif rule == "environment":
        var = finding.detail
        if var in declared.env:
            return _set(finding, "info", "(declared in env)")
        floor = "high" if secret_name(var) else "medium"
        return _set(finding, raise_to(severity, floor), "not declared in env")
    elif rule == "file-access" and not declared.fs_read:
        return _set(finding, raise_to(severity, "medium"), "but declares no fs_read")
    elif rule in ("suspicious-url", "fingerprint") and _host(finding.detail) in _hosts(declared):
        return _set(finding, "low", "(the host is declared)")
    elif rule == "exfiltration" and declared.network and finding.detail:
        names = set(finding.detail.split(","))
        if names <= set(declared.env):
            return _set(finding, "low", "(declared variables to a declared host)")
    return finding


def _host(text: str) -> str | None:
    found = re.search(r"://([^/:?#\s]+)", text)
    return found.group(1).lower() if found else None


def _hosts(declared: Declared) -> set[str | None]:
    return {entry.rsplit(":", 1)[0].lower() for entry in declared.network if "{" not in entry}


def _set(finding: Finding, severity: str, note: str) -> Finding:
    sep = " " if note.startswith("(") else ", "
    message = finding.message if severity == finding.severity else f"{finding.message}{sep}{note}"
    return finding._replace(severity=severity, message=message)
