"""The gate before a plugin's code is imported: the static audit and required signatures."""

from __future__ import annotations

from pathlib import Path

from .._contract._errors import AuditRefused, SignatureInvalid
from .._discovery import Candidate

__all__ = ["audit_gate", "audit_threshold"]


def audit_threshold(audit_block: str, level: str) -> str:
    """The severity from which a plugin is refused (``strict`` caps it at medium)."""
    if level == "strict" and audit_block in ("critical", "high", "none"):
        return "medium"
    return audit_block


def audit_gate(
    cand: Candidate,
    threshold: str,
    *,
    require_signature: bool = False,
    signed: bool = False,
    cache_dir: Path | None = None,
) -> None:
    """Refuse a plugin whose source has findings at or above ``threshold`` (WF302), or,
    when signatures are required, any plugin neither handed in directly nor ``signed``
    (installed from a signed repository and verified against its lock entry) (WF304).
    ``cache_dir``: the host's cache folder, where files already audited are remembered."""
    from .._policy._audit import FindingsCache, audit_plugin, blocking  # rules compile on use

    if cand.origin == "direct":
        return
    if require_signature and not signed:
        # Only a repository install is signed (TUF verified its wheel, the lock pins the
        # files it unpacked): anything else fails closed rather than run unsigned code.
        raise SignatureInvalid(
            f"plugin '{cand.manifest.name}' has no verifiable signature, and "
            "[policy] require_signature = true",
            plugin=cand.manifest.name,
            hint="install it from a signed repository (`wiseflow plugins install`), or set "
            "require_signature = false to run unsigned plugins you trust",
        )
    m = cand.manifest
    # the plugin's own folder (its manifest's), not the import root above a package
    root = m.root or (Path(cand.code_root) if cand.code_root else None)
    cache = FindingsCache(cache_dir / "audit") if cache_dir is not None else None
    blocked = blocking(audit_plugin(m, root, cache), threshold)
    if blocked:
        worst = blocked[0]
        raise AuditRefused(
            f"plugin '{m.name}' refused by the static audit: {len(blocked)} finding(s) at "
            f"or above '{threshold}', first: {worst.message} [{worst.rule}, {worst.severity}]",
            plugin=m.name,
            hint=f"see `wiseflow plugins audit {m.name}`; "
            + (
                "at level strict every finding of medium or above refuses a plugin"
                if threshold == "medium"
                else "the operator may lower [policy] audit_block"
            ),
            problems=blocked,
        )
