"""The rows of ``wiseflow plugins list``: every candidate with its state, problems and
identity, memoised on everything they depend on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .._contract._errors import Problem
from ._approve import identity_doc

if TYPE_CHECKING:
    from .._host._manager import PluginManager

__all__ = ["listing"]


def _problem_rows(problems: list[Problem]) -> list[dict[str, Any]]:
    return [{"code": p.code, "message": p.message} for p in problems]


#: Bumped whenever the rows `plugins list` computes change shape or meaning (memo key).
_LISTING_FORMAT = 4


def _status(state: str, problems: list[Problem]) -> str:
    """What a listing can truly say of a plugin (nothing is loaded by listing it).

    ``available`` (it would load), ``disabled``, ``refused`` (another plugin owns the
    name), ``unused`` (another origin is pinned), ``error`` (it cannot load as it is);
    ``blocked`` (its repository blocklisted it) is added on every listing (_mark_blocked).
    """
    if state == "UNLOADED":
        return "error" if problems else "available"
    return state.lower()


def listing(s: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of `plugins list`, memoised on everything they depend on.

    The rows are a pure function of what discovery found (itself re-checked against the
    files every time), the operator's config and the host's API and Python versions; when
    none changed, resolution (and the import of ``packaging``) is skipped.
    """
    import hashlib
    import sys

    from .._contract._version import PLUGIN_API_VERSION, __version__

    pm = s.pm
    discovery = pm.discover()
    key = hashlib.blake2b(
        msgspec.msgpack.encode(
            [
                discovery.candidates,
                discovery.problems,
                pm.approvals.lock.plugins,
                s.config,
                pm.level_override,
                PLUGIN_API_VERSION,
                __version__,
                _LISTING_FORMAT,
                list(sys.version_info[:3]),
            ]
        ),
        digest_size=16,
    ).hexdigest()
    memo = pm.data_dir / "cache" / "list.json"
    try:
        saved = msgspec.json.decode(memo.read_bytes())
        if saved.get("key") == key:
            return _with_identity(pm, discovery, saved["rows"]), saved["orphans"]
    except (OSError, msgspec.DecodeError, AttributeError):
        pass
    rows, orphans = _compute_listing(s, discovery)
    if pm.cache:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo.with_suffix(".tmp")
            tmp.write_bytes(msgspec.json.encode({"key": key, "rows": rows, "orphans": orphans}))
            tmp.replace(memo)
        except OSError:
            pass  # a read-only data dir only costs speed
    return _with_identity(pm, discovery, rows), orphans


def _with_identity(
    pm: PluginManager, discovery: Any, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add each row's identity (name, origin; content for locked plugins) and whether it
    is locked and verified.

    Computed on every listing, never memoised: what is verified is the files as they are
    now. Unlocked plugins are not hashed here (`plugins info NAME` shows their content).
    """
    by_place = {(c.origin, c.location, c.manifest.name): c for c in discovery.candidates}
    for row in rows:
        _mark_blocked(pm, row)
        cand = by_place.get((row["origin"], row["location"], row["name"]))
        if cand is None:
            row.update(identity=None, locked=False, verified=None)
            continue
        row.update(identity_doc(pm, cand, save=False, content=False))
    pm.approvals.save_hashes()  # once, not per plugin
    return rows


def _mark_blocked(pm: PluginManager, row: dict[str, Any]) -> None:
    """``blocked``: why the repository an installed plugin came from blocklisted it (the
    kill switch, WF300 when it is started), or None; a blocked row's status is "blocked"
    and WF300 is among its problems. Read on every listing: a refresh of the repository's
    index (``plugins search``, ``plugins update``) changes it without changing the memo key.
    """
    row["blocked"] = None
    if row["origin"] != "repo" or not row["version"]:
        return
    from .._repo._index import blocked_installed

    why = blocked_installed(pm.data_dir, str(row["location"]), row["name"], row["version"])
    if why is None:
        return
    row["blocked"] = why
    row["status"] = "blocked"
    row["problems"].append(
        {"code": "WF300", "message": f"blocklisted by its repository {row['location']}: {why}"}
    )


def _compute_listing(s: Any, discovery: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pm = s.pm
    resolution = pm.resolve()
    admission = pm.admission()
    admitted = {id(c) for c in admission.candidates}
    refused = {id(c): p for c, p in admission.refused}
    by_plugin: dict[str, list[Problem]] = {}
    for p in (*pm.problems_for({c.manifest.name for c in discovery.candidates}),
              *resolution.problems):  # fmt: skip
        if p.code == "WF104" and p.plugin in admission.owner:
            continue  # a refusal: shown on the refused candidate's own row
        by_plugin.setdefault(p.plugin or "", []).append(p)
    rows: list[dict[str, Any]] = []
    for cand in sorted(
        discovery.candidates, key=lambda c: (c.manifest.name, c.manifest.parsed_version)
    ):
        m = cand.manifest
        chosen = resolution.selected.get(m.name)
        policy = s.config.plugin(m.name)
        state = "DISABLED" if not policy.enabled else "UNLOADED"
        if id(cand) in refused:
            state, problems = "REFUSED", [refused[id(cand)]]
        elif id(cand) not in admitted:
            state, problems = "UNUSED", []  # another origin is pinned
        else:
            problems = by_plugin.get(m.name, []) if chosen is None or chosen == cand else []
        rows.append(
            {
                "name": m.name,
                "version": m.version,
                "kind": m.kind,
                "origin": cand.origin,
                "location": cand.location,
                "state": state,
                "status": _status(state, problems),
                "level": pm.level_for(m.name),
                "selected": chosen == cand,
                "description": m.description,
                "problems": _problem_rows(problems),
            }
        )
    # A broken manifest still gets a row (state ERROR) of its own, under its own folder: it
    # never lends its problems to a valid plugin of the name it claims.
    broken: dict[tuple[str, str | None], list[Problem]] = {}
    for p in discovery.problems:
        if p.plugin and p.code != "WF104":
            broken.setdefault((p.plugin, p.file), []).append(p)
    for (plugin, file), problems in sorted(
        broken.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        rows.append(
            {
                "name": plugin,
                "version": None,
                "kind": None,
                "origin": "dir" if file and file.endswith(".toml") else "entry-point",
                "location": str(Path(file).parent) if file and file.endswith(".toml") else file,
                "state": "ERROR",
                "status": "error",
                "level": pm.level_for(plugin),
                "selected": False,
                "description": "",
                "problems": _problem_rows(problems),
            }
        )
    orphans = [p.to_dict() for p in discovery.problems if not p.plugin]
    return rows, orphans
