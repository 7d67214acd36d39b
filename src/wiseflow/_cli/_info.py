"""``wiseflow plugins info``: what is known of one plugin, its config fields included.

The config fields come from the plugin's Config JSON Schema, read in a strict worker (the
plugin is never imported into the host unless it is trusted) and shown as rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
import msgspec

from .._contract._errors import WiseflowError
from .._policy._grants import anchor_paths, effective_permissions
from ._approve import approved_candidate, identity_doc
from ._output import shown
from ._session import session_of

if TYPE_CHECKING:
    from .._host._manager import PluginManager

__all__ = ["config_fields", "info"]


@click.command()
@click.argument("name")
@click.option(
    "--schema",
    is_flag=True,
    help="also print the Config JSON Schema as it is (the fields are always listed)",
)
@click.pass_context
def info(ctx: click.Context, name: str, schema: bool) -> None:
    """Manifest, config fields, permissions asked and granted, dependency tree, load order.

    The config fields come from the plugin's Config, read in a strict worker (the
    plugin is never imported into the host unless it is trusted).
    """
    from .._envs import env_doc, env_lines
    from .._resolve import dependency_tree, render_tree

    s = session_of(ctx)
    pm = s.pm
    chosen = approved_candidate(pm, name)
    cands = [c for c in pm.discover().candidates if c.manifest.name == name]
    resolution = pm.resolve([name])
    m = chosen.manifest
    policy = s.config.plugin(name)
    level = pm.level_for(name)
    # paths in [plugins.NAME] config are relative to wiseflow.toml (as when it runs)
    config = anchor_paths(m.permissions, policy.config, s.config.base_dir)
    granted = effective_permissions(
        m.permissions, pm.approvals.grant_for(chosen), config, level=level
    )
    entry = pm.approvals.entry(chosen)
    doc: dict[str, Any] = {
        "name": m.name,
        "version": m.version,
        "kind": m.kind,
        "origin": chosen.origin,
        "location": chosen.location,
        "level": level,
        "manifest": m.to_dict(),
        "permissions": {
            "asked": msgspec.to_builtins(m.permissions),
            "granted": granted.to_dict(),
        },
        "requires": [msgspec.to_builtins(r) for r in m.requires],
        "dependency_tree": msgspec.to_builtins(dependency_tree(resolution, name)),
        "load_order": list(resolution.order),
        "candidates": [
            {"version": c.manifest.version, "origin": c.origin, "location": c.location}
            for c in cands
        ],
        "choice": resolution.explanations.get(name),
        "problems": [p.to_dict() for p in resolution.problems],
        **identity_doc(pm, chosen),
        "approved": None
        if entry is None
        else {
            "version": entry.version,
            "origin": entry.origin,
            "level": entry.level,
            "manifest": entry.manifest,
            "permissions": entry.permissions(),
            "files": len(entry.files),
            "lock": str(pm.approvals.path),
        },
        "refused": [p.to_dict() for p in pm.admission().refused_for(name)],
        "python": env_doc(entry and entry.python, s.data_dir, trusted=level == "trusted"),
    }
    doc["config_schema"], schema_error = _config_schema(pm, chosen, dict(policy.config), level)
    if schema_error is not None:
        if schema:  # asked for explicitly: not having it is the command's failure
            raise schema_error
        doc["config_schema_error"] = schema_error.to_dict()
    if s.out.json:
        s.out.document(doc)
        return
    p = s.out.out.print
    p(
        f"[bold]{shown(m.name)}[/] {shown(m.version)}  ({shown(m.kind)}, {shown(chosen.origin)}: "
        f"{shown(chosen.location)})"
    )
    if m.description:
        p(shown(m.description, markup=False), markup=False)
    p(shown(f"level: {level}    api: {m.api}    python: {m.python or 'any'}", markup=False),
      markup=False)  # fmt: skip
    if doc["choice"]:
        p(shown(f"chosen: {doc['choice']}", markup=False), markup=False)
    ident = doc["identity"]
    p(shown(f"identity: {m.name} from {ident['origin']}, content {ident['content'] or '-'}",
            markup=False), markup=False)  # fmt: skip
    if entry is None:
        lock_name = pm.approvals.path.name
        p(shown(f"approval: not in {lock_name} (approve with `wiseflow plugins grant {m.name}`)",
                markup=False), markup=False)  # fmt: skip
    else:
        state = "verified" if doc["verified"] else "CHANGED: " + doc["verify_error"]["message"]
        p(shown(f"approval: {entry.origin} {entry.version} at level {entry.level}, "
                f"{len(entry.files)} file(s), {state}", markup=False), markup=False)  # fmt: skip
    for prob in doc["refused"]:
        p(shown(f"refused: {prob['message']}", markup=False, limit=2000), markup=False)
    for line in env_lines(doc["python"]):  # its environment (installed plugins, §14)
        p(shown(line, markup=False, limit=4000), markup=False)
    p("permissions asked:", msgspec.json.encode(doc["permissions"]["asked"]).decode(), markup=False)
    p("permissions granted:", msgspec.json.encode(granted.to_dict()).decode(), markup=False)
    p("resources asked:", msgspec.json.encode(m.resources).decode(), markup=False)
    p("dependency tree:")
    for line in render_tree(dependency_tree(resolution, name)).splitlines():
        p(shown(f"  {line}", markup=False), markup=False)
    p(shown("load order: " + " -> ".join(resolution.order), markup=False, limit=4000),
      markup=False)  # fmt: skip
    for prob in resolution.problems:
        p(f"[red]{shown(prob.code)}[/] {shown(prob.message, limit=2000)}")
    _print_fields(s, doc["config_schema"], schema_error)
    if schema and doc["config_schema"] is not None:
        p(
            "config schema:",
            msgspec.json.format(msgspec.json.encode(doc["config_schema"])).decode(),
            markup=False,
        )


def _config_schema(
    pm: PluginManager, cand: Any, config: dict[str, Any], level: str
) -> tuple[dict[str, Any] | None, WiseflowError | None]:
    """The plugin's Config JSON Schema, read in a strict worker unless it is trusted.

    A plugin that cannot be loaded still has an `info`: the error comes back instead.
    """
    try:
        files = pm.verify(cand)  # WF303: a changed plugin is not imported, not even here
        handle = pm.probe(
            f"info-{cand.manifest.name}",
            cand,
            config,
            files=files,
            level=None if level == "trusted" else "strict",
        )
        try:
            handle.runner.load()
            return handle.runner.config_schema(), None
        finally:
            handle.runner.close()
    except WiseflowError as exc:
        return None, exc


def config_fields(schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per field of a Config JSON Schema: name, type, default, description."""
    if not schema:
        return []
    defs = schema.get("$defs", {})
    root = schema
    if "$ref" in schema:
        root = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
    required = set(root.get("required", ()))
    rows = []
    for name, prop in root.get("properties", {}).items():
        rows.append(
            {
                "name": name,
                "type": _type_of(prop),
                "default": "(required)"
                if name in required
                else msgspec.json.encode(prop.get("default")).decode(),
                "description": prop.get("description", ""),
            }
        )
    return rows


def _type_of(prop: Any) -> str:
    if not isinstance(prop, dict):
        return "any"  # `true`/`false` schemas: msgspec writes "items": false for tuples
    if "enum" in prop:
        return " | ".join(str(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " | ".join(_type_of(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list[{_type_of(prop.get('items', {}))}]"
    return str(kind)


def _print_fields(s: Any, schema: dict[str, Any] | None, error: WiseflowError | None) -> None:
    p = s.out.out.print
    if error is not None:
        p(shown(f"config: unavailable ({error.code}: {error.message})", markup=False,
                limit=2000), markup=False)  # fmt: skip
        return
    rows = config_fields(schema)
    if (
        not rows
        and schema is not None
        and schema.get("type") == "object"
        and ("properties" not in schema)
    ):
        p("config: any table (the plugin reads its stage's config as it is)", markup=False)
        return
    if not rows:
        p("config: none (the plugin takes no configuration)", markup=False)
        return
    from rich.table import Table

    table = Table(title="config:", title_justify="left", box=None, pad_edge=False)
    table.add_column("field", overflow="fold")
    table.add_column("type", overflow="fold", max_width=22)
    table.add_column("default", overflow="fold", max_width=26)
    table.add_column("description", overflow="fold", min_width=20)
    for r in rows:
        table.add_row(*(shown(r[k], limit=300) for k in ("name", "type", "default",
                                                        "description")))  # fmt: skip
    p(table)
