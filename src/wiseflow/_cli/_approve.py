"""``wiseflow plugins grant|revoke``: approving one identity, pinned in ``wiseflow.lock``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec

from .._contract._errors import DiscoveryError, DuplicatePlugin, WiseflowError
from .._contract._suggest import did_you_mean
from .._policy._grants import Grant
from .._policy._opstate import load_state, save_state
from ._output import shown
from ._session import session_of

if TYPE_CHECKING:
    from .._discovery import Candidate
    from .._host._manager import PluginManager

__all__ = ["approved_candidate", "grant", "identity_doc", "not_declared", "revoke"]


def identity_doc(
    pm: PluginManager, cand: Candidate, *, save: bool = True, content: bool = True
) -> dict[str, Any]:
    """``{"identity": {name, origin, content}, "locked", "verified", "verify_error"}``.

    ``content=False`` (a listing of many plugins) hashes only the locked ones, which are
    verified anyway; the others show ``content`` null.
    """
    from .._policy._identity import content_digest, origin_of

    entry = pm.approvals.entry(cand)
    doc: dict[str, Any] = {
        "identity": {"name": cand.manifest.name, "origin": origin_of(cand), "content": None},
        "locked": entry is not None,
        "verified": None,
    }
    if entry is not None:
        try:
            pm.verify(cand)
            doc["verified"] = True
        except WiseflowError as exc:
            doc["verified"] = False
            doc["verify_error"] = {"code": exc.code, "message": exc.message}
    if content or entry is not None:
        try:
            files = pm.approvals.files(cand, save=save)
            doc["identity"]["content"] = content_digest(files) if files is not None else None
        except WiseflowError:
            pass
    return doc


def approved_candidate(pm: PluginManager, name: str) -> Candidate:
    """The candidate that answers to ``name`` (resolution's choice among those admitted).

    Raises:
        DuplicatePlugin: WF104 when every candidate of that name was refused it.
        WiseflowError: what stands in the way when only broken candidates claim the name
            (WF101 for an invalid manifest), with every problem.
        DiscoveryError: WF602 when there is none.
    """
    admission = pm.admission()
    admitted = [c for c in admission.candidates if c.manifest.name == name]
    if not admitted:
        refused = admission.refused_for(name)
        if refused:
            raise DuplicatePlugin(refused[0].message, plugin=name, hint=refused[0].hint)
        from .._host._catalog import raise_problems

        raise_problems(pm.problems_for([name]), name)  # found, but broken (WF101, ...)
        raise DiscoveryError(
            f"no plugin named '{name}' was found"
            + did_you_mean(name, (c.manifest.name for c in pm.discover().candidates)),
            plugin=name,
            code="WF602",
            hint="check `wiseflow plugins list`, plugin_dirs and --plugin-dir",
        )
    try:
        chosen = pm.resolve([name]).selected.get(name)
    except WiseflowError:
        chosen = None
    return chosen or max(admitted, key=lambda c: c.manifest.parsed_version)


def _dependency_origins(pm: PluginManager, cand: Candidate) -> dict[str, str]:
    """The origin of each dependency ``cand`` resolves to now (pinned with its approval)."""
    from .._policy._identity import origin_of

    try:
        selected = pm.resolve([cand.manifest.name]).selected
    except WiseflowError:
        return {}
    return {
        r.name: origin_of(selected[r.name]) for r in cand.manifest.requires if r.name in selected
    }


def not_declared(
    cand: Candidate,
    *,
    network: Sequence[str],
    env: Sequence[str],
    fs_read: Sequence[str],
    fs_write: Sequence[str],
    subprocess: bool,
) -> list[str]:
    """What was just granted that ``cand``'s manifest does not declare (``kind:value``)."""
    import os

    from .._policy._grants import host_port

    perms = cand.manifest.permissions

    def same(kind: str, a: str, b: str) -> bool:
        if kind == "network":
            return host_port(a) == host_port(b)
        if kind.startswith("fs_"):
            return os.path.realpath(a) == os.path.realpath(b)
        return a == b

    out = []
    for kind, given, declared in (
        ("network", network, perms.network), ("env", env, perms.env),
        ("fs_read", fs_read, perms.fs_read), ("fs_write", fs_write, perms.fs_write),
    ):  # fmt: skip
        out += [f"{kind}:{g}" for g in given if not any(same(kind, g, d) for d in declared)]
    if subprocess and not perms.subprocess:
        out.append("subprocess")
    return out


@click.command()
@click.argument("name")
@click.option("--all", "all_", is_flag=True, help="everything the manifest asks for")
@click.option("--network", multiple=True, help="host:port (repeatable)")
@click.option("--env", multiple=True, help="secret name (repeatable)")
@click.option("--fs-read", multiple=True, help="directory (repeatable)")
@click.option("--fs-write", multiple=True, help="directory (repeatable)")
@click.option("--subprocess", is_flag=True, help="allow starting programs")
@click.pass_context
def grant(
    ctx: click.Context,
    name: str,
    all_: bool,
    network: tuple[str, ...],
    env: tuple[str, ...],
    fs_read: tuple[str, ...],
    fs_write: tuple[str, ...],
    subprocess: bool,
) -> None:
    """Approve a plugin as its files are now, and grant it permissions (wiseflow.lock).

    A plugin gets what it declared AND was granted. `--all` grants what the manifest asks
    for today, written out in the lock; running `grant` again re-approves changed files.
    """
    from .._policy._identity import origin_of
    from .._policy._lock import LockEntry, approved_entries

    s = session_of(ctx)
    pm = s.pm
    cand = approved_candidate(pm, name)
    approved = datetime.now(UTC).isoformat()  # before any file is read (see LockEntry)
    files = pm.approvals.files(cand, trust_before=float("-inf"))  # every byte read now
    if files is None or "plugin.toml" not in files:
        raise DiscoveryError(
            f"plugin '{name}' has no plugin folder to approve ({cand.origin} {cand.location})",
            plugin=name,
            hint="only plugins with a plugin.toml on disk can be approved",
        )
    old = pm.approvals.entry(cand)
    base = old.grant() if old is not None else Grant()
    wanted = Grant(
        network=(*base.network, *network),
        env=(*base.env, *env),
        fs_read=(*base.fs_read, *(str(Path(p).resolve()) for p in fs_read)),
        fs_write=(*base.fs_write, *(str(Path(p).resolve()) for p in fs_write)),
        subprocess=base.subprocess or subprocess,
        all=all_,
    )
    entry = LockEntry(
        version=cand.manifest.version,
        origin=origin_of(cand),
        level=pm.level_for(name),
        manifest=files["plugin.toml"],
        files=files,
        approved=approved,
        requires=_dependency_origins(pm, cand),
        # an installed plugin keeps its environment while its version stays (§14)
        python=old.python if old is not None and old.version == cand.manifest.version else None,
        **approved_entries(cand.manifest, wanted),
    )
    lock = pm.approvals.lock
    previous = lock.plugins.get(name)
    lock.plugins[name] = entry
    path = pm.approvals.save()
    doc = {
        "plugin": name,
        "grant": {
            k: v
            for k, v in msgspec.to_builtins(entry).items()
            if k not in ("files", "manifest", "version", "origin", "level")
        },
        "identity": {"name": name, "origin": entry.origin, "version": entry.version},
        "lock": {"path": str(path), "files": len(files), "replaced": previous is not None},
    }
    idle = not_declared(
        cand,
        network=network,
        env=env,
        fs_read=wanted.fs_read[len(base.fs_read) :],
        fs_write=wanted.fs_write[len(base.fs_write) :],
        subprocess=subprocess,
    )
    if idle:
        doc["not_declared"] = idle
        s.out.warn(
            shown(
                f"{name} does not declare {', '.join(idle)} in plugin.toml: a plugin gets what "
                "it declared AND was granted, so this grant gives it nothing (for a {field} "
                "placeholder, the stage's config value is the grant)",
                markup=False,
                limit=2000,
            )
        )
    if s.out.json:
        s.out.document(doc)
        return
    if previous is not None and previous.origin != entry.origin:
        s.out.warn(
            shown(f"{name}: approval moved from {previous.origin} to {entry.origin}", markup=False)
        )
    perms = ", ".join(entry.permissions()) or "no permissions"
    s.out.out.print(
        shown(
            f"{name} {entry.version} from {entry.origin} approved ({len(files)} file(s) "
            f"pinned in {path}); granted: {perms}",
            markup=False,
            limit=2000,
        ),
        markup=False,
    )


@click.command()
@click.argument("name")
@click.pass_context
def revoke(ctx: click.Context, name: str) -> None:
    """Withdraw a plugin's approval and every grant made with `wiseflow plugins grant`."""

    s = session_of(ctx)
    pm = s.pm
    lock = pm.approvals.lock
    state = load_state(s.data_dir)
    discovery = pm.discover()
    named = {c.manifest.name for c in discovery.candidates}
    named |= {p.plugin for p in discovery.problems if p.plugin}
    if name not in lock.plugins and name not in state.grants and name not in named:
        raise DiscoveryError(  # a typo: say so rather than "was not approved"
            f"no plugin named '{name}' was found, nor approved in {pm.approvals.path}"
            + did_you_mean(name, [*named, *lock.plugins]),
            plugin=name,
            code="WF602",
            hint="check `wiseflow plugins list` (a plugin that is gone can still be revoked "
            "while wiseflow.lock names it)",
        )
    removed = lock.plugins.pop(name, None)
    if removed is not None:
        pm.approvals.save()
    if state.grants.pop(name, None) is not None:  # grants an older version kept by name
        save_state(s.data_dir, state)
    if s.out.json:
        s.out.document({"plugin": name, "grant": None, "revoked": removed is not None})
    else:
        what = "approval and grants revoked" if removed else "was not approved"
        s.out.out.print(
            shown(f"{name}: {what} (wiseflow.toml grants still apply)", markup=False),
            markup=False,
        )
