"""Hot reload: a running instance's plugin, read again from its folder, checked, and started
beside the old one (``wiseflow run --watch``).

:func:`replacement` builds the new instance outside the registry: its manifest is read again
(WF1xx), it must still be the same folder plugin of the same kind, its identity is verified
against ``wiseflow.lock`` (WF303; re-approved only when the caller allows it), a manifest
may not ask for a permission the running version was not given (WF301 unlocked, WF303
locked), the static audit must pass (WF302), its code loads in a fresh worker (the interface
check, WF103), and its config is checked and ``initialize`` runs. Any failure releases
what was started and raises: the old instance is untouched. :meth:`PluginManager.replace
<wiseflow._host._manager.PluginManager.replace>` then swaps it in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .._contract._errors import IntegrityError, PermissionDenied, WiseflowError
from .._discovery import Candidate
from .._policy._identity import origin_of
from ._assembly import wire_fallback
from ._gate import audit_gate
from ._lifecycle import PluginState

if TYPE_CHECKING:
    from ._handle import PluginHandle
    from ._manager import PluginManager

__all__ = ["current_candidate", "replacement"]


def current_candidate(pm: PluginManager, name: str) -> Candidate:
    """The candidate ``name`` resolves to now, its manifest read again from disk."""
    pm.discover(refresh=True)
    return pm.catalog.select(name).selected[name]


def replacement(pm: PluginManager, old: PluginHandle, *, reapprove: bool = False) -> PluginHandle:
    """A started instance of ``old``'s plugin as its folder holds it now (see the module).

    Args:
        reapprove: a folder plugin in ``wiseflow.lock`` whose files changed is approved
            again (its files' digests rewritten, its grants kept); never when its manifest
            asks for more than was granted.

    Raises:
        WiseflowError: the check that failed; nothing of the new version is left running.
    """
    name = old.plugin
    cand = current_candidate(pm, name)
    if cand.origin != "dir" or old.origin != "dir":
        raise IntegrityError(
            f"plugin '{name}' is not a folder plugin; only those are reloaded",
            plugin=name,
            hint="restart the run to load the new version",
        )
    if cand.manifest.kind != old.kind:
        raise IntegrityError(
            f"plugin '{name}' changed its kind from {old.kind} to {cand.manifest.kind}",
            plugin=name,
            hint="a stage keeps its kind; restart the run after changing the pipeline file",
        )
    if pm.level_for(name) == "trusted":
        raise IntegrityError(
            f"plugin '{name}' runs trusted, inside the host, so its code is not reloaded",
            plugin=name,
            hint="restart the run, or run it sandboxed to develop it with --watch",
        )
    files = _verified(pm, cand, reapprove=reapprove)
    if files is None:
        _no_new_permissions(pm, cand, old)
    audit_gate(
        cand,
        pm.audit_threshold(name),
        require_signature=pm.config.policy.require_signature,
        signed=False,
        cache_dir=pm.data_dir / "cache" if pm.cache else None,
    )
    raw = pm.configured(old.name)
    new = pm._assemble(old.name, cand, raw, files=files)
    try:
        new.runner.load()
        new.lifecycle.transition(PluginState.LOADED, f"reloaded from {cand.location}")
        new.runner.check_config(dict(raw))
        new.config = raw
        new.initialize(raw)
        new.lifecycle.transition(PluginState.INITIALIZED, "reloaded")
        new.lifecycle.transition(PluginState.ACTIVE, "reloaded")
    except BaseException:
        new.release()
        raise
    if old.fallback is not None:
        wire_fallback(new, old.fallback)
    return new


def _verified(pm: PluginManager, cand: Candidate, *, reapprove: bool) -> dict[str, str] | None:
    """The approved digests (None: not locked); WF303 for a changed locked plugin, unless
    ``reapprove`` and the change is only in its files (never in what it asks for)."""
    from .._policy._lock import asked_beyond

    try:
        return pm.verify(cand)
    except IntegrityError:
        entry = pm.approvals.entry(cand)
        if not reapprove or entry is None:
            raise
        approved = datetime.now(UTC).isoformat()  # before any file is read (see LockEntry)
        files = pm.approvals.files(cand, trust_before=float("-inf")) or {}
        grant = pm.config.plugin(cand.manifest.name).grant
        if files.get("plugin.toml") != entry.manifest and asked_beyond(cand.manifest, entry, grant):
            raise  # more permissions: only `wiseflow plugins grant` approves those
    if "plugin.toml" not in files:
        raise IntegrityError(
            f"plugin '{cand.manifest.name}' lost its plugin.toml",
            plugin=cand.manifest.name,
            hint="restore the manifest",
        )
    import msgspec

    pm.approvals.lock.plugins[cand.manifest.name] = msgspec.structs.replace(
        entry,
        version=cand.manifest.version,
        origin=origin_of(cand),
        manifest=files["plugin.toml"],
        files=files,
        approved=approved,
    )
    pm.approvals.save()
    return pm.verify(cand)


def _no_new_permissions(pm: PluginManager, cand: Candidate, old: PluginHandle) -> None:
    """WF301 when an unlocked plugin's manifest now declares a permission that neither the
    running version declared nor wiseflow.toml grants: that needs the operator, not a save."""
    declared = old.manifest.permissions
    grant = pm.config.plugin(cand.manifest.name).grant
    new = cand.manifest.permissions
    asked = []
    for kind in ("network", "env", "fs_read", "fs_write"):
        before = set(getattr(declared, kind)) | set(getattr(grant, kind))
        asked += [f"{kind}:{e}" for e in getattr(new, kind) if e not in before]
    if new.subprocess and not (declared.subprocess or grant.subprocess):
        asked.append("subprocess")
    if asked:
        raise PermissionDenied(
            f"plugin '{cand.manifest.name}' now asks for {', '.join(asked)}, which the "
            "running version was not given",
            plugin=cand.manifest.name,
            hint=f"review the change; grant it with `wiseflow plugins grant {cand.manifest.name}`"
            " and restart the run",
        )


def reload_error(exc: BaseException, plugin: str) -> WiseflowError:
    """``exc`` as the WiseflowError a refused reload reports."""
    if isinstance(exc, WiseflowError):
        return exc
    return WiseflowError(
        f"reload failed: {type(exc).__name__}: {exc}"[:500],
        code="WF000",
        plugin=plugin,
        hint="the running version stays; see the log (<data_dir>/logs/wiseflow.log)",
    )
