"""``wiseflow plugins ...``: list, info (``_info``), check, audit, enable/disable, new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .._contract._errors import DiscoveryError, exit_code_for
from .._contract._suggest import did_you_mean
from .._policy._opstate import load_state, save_state
from ._approve import approved_candidate
from ._info import config_fields, info
from ._listing import listing
from ._output import fitted_table, shown
from ._scaffold import scaffold, taken_names
from ._session import session_of

#: ``config_fields`` is imported from here as well (it moved to ``_info``).
__all__ = ["config_fields", "plugins"]


@click.group(name="plugins")
def plugins() -> None:
    """Find, check and manage plugins."""


@plugins.command("list")
@click.option("--kind", type=click.Choice(["connector", "processor", "analyzer"]))
@click.pass_context
def list_(ctx: click.Context, kind: str | None) -> None:
    """Every plugin on offer: name, version, kind, origin, state, level, problems."""
    s = session_of(ctx)
    rows, orphans = listing(s)
    rows = [r for r in rows if not kind or r["kind"] == kind]
    if s.out.json:
        s.out.document({"plugins": rows, "problems": orphans})
        return
    cells = [
        [shown(v, limit=200) for v in (
            r["name"], r["version"] or "?", r["kind"] or "?", r["origin"], r["status"],
            r["level"], ", ".join(p["code"] for p in r["problems"]) or "-",
        )]
        for r in rows
    ]  # fmt: skip
    header = ("name", "version", "kind", "origin", "state", "level", "problems")
    s.out.out.print(
        fitted_table(s.out.out, f"{len(rows)} plugin(s)", header, cells,
                     optional=("origin", "level"), wrap=("problems",))
    )  # fmt: skip
    for p in orphans:
        where = f" ({p['file']})" if p.get("file") else ""
        s.out.warn(shown(f"{p['code']}: {p['message']}{where}", markup=False))


plugins.add_command(info)


@plugins.command()
@click.argument("target")
@click.pass_context
def check(ctx: click.Context, target: str) -> None:
    """Manifest, interface, compatibility and config of a plugin folder or installed name."""
    from .._host._check import check_plugin

    s = session_of(ctx)
    report = check_plugin(s.pm, target)
    if s.out.json:
        s.out.document(report.to_dict())
    elif report.ok:
        s.out.out.print(f"[green]ok[/] {shown(report.plugin)}: no problems found")
    else:
        s.out.err.print(f"[bold red]{shown(report.plugin)}: {len(report.problems)} problem(s)[/]")
        for prob in report.problems:
            where = (
                f" ({prob.file}{':' + str(prob.line) if prob.line else ''})" if prob.file else ""
            )
            s.out.err.print(
                shown(f"error {prob.code}: {prob.message}{where}", markup=False, limit=2000),
                markup=False,
            )
            if prob.hint:
                s.out.err.print(shown(f"  hint: {prob.hint}", markup=False), markup=False)
    if not report.ok:
        codes = {exit_code_for(p.code) for p in report.problems}
        raise click.exceptions.Exit(next(c for c in (3, 2, 4, 1) if c in codes))


@plugins.command()
@click.argument("target")
@click.pass_context
def audit(ctx: click.Context, target: str) -> None:
    """Static audit of a plugin folder or installed plugin: rule, severity, place."""
    from .._contract._manifest import load_manifest
    from .._policy._audit import audit_plugin, blocking

    s = session_of(ctx)
    path = Path(target)
    if path.exists() or "/" in target or target.endswith(".toml"):  # as `plugins check`
        from .._host._locate import manifest_path

        located = manifest_path(path)  # a project folder's package too
        manifest = load_manifest(located)
        root = located.parent
    else:
        # the plugin that answers to the name, never a folder refused it (WF104)
        cand = approved_candidate(s.pm, target)
        manifest = cand.manifest
        root = manifest.root or (Path(cand.code_root) if cand.code_root else Path("."))
    findings = audit_plugin(manifest, root)
    threshold = s.pm.audit_threshold(manifest.name)
    refused = blocking(findings, threshold)
    if s.out.json:
        s.out.document(
            {
                "plugin": manifest.name,
                "ok": not refused,
                "threshold": threshold,
                "problems": [p.to_dict() for p in findings],
            }
        )
    else:
        verdict = "[red]refused[/]" if refused else "[green]admitted[/]"
        s.out.out.print(
            f"{shown(manifest.name)}: {len(findings)} finding(s), {verdict} at "
            f"audit_block = {threshold}"
        )
        for p in findings:
            where = f"{p.file}:{p.line}" if p.line else str(p.file)
            line = f"  {p.severity:8} {p.rule:18} {p.message}  ({where})"
            s.out.out.print(shown(line, markup=False, limit=2000), markup=False)
    if refused:
        raise click.exceptions.Exit(3)


def _require_known(s: Any, name: str) -> None:
    discovery = s.pm.discover()
    known = {c.manifest.name for c in discovery.candidates}
    broken = {p.plugin for p in discovery.problems}  # a broken plugin may be disabled too
    if name not in known | broken:
        raise DiscoveryError(
            f"no plugin named '{name}' was found{did_you_mean(name, known)}",
            plugin=name,
            code="WF602",
            hint="check `wiseflow plugins list`, plugin_dirs and --plugin-dir",
        )


def _set_disabled(ctx: click.Context, name: str, disabled: bool) -> None:
    s = session_of(ctx)
    _require_known(s, name)
    state = load_state(s.data_dir)
    if disabled and name not in state.disabled:
        state.disabled.append(name)
    if not disabled and name in state.disabled:
        state.disabled.remove(name)
    save_state(s.data_dir, state)
    word = "disabled" if disabled else "enabled"
    if s.out.json:
        s.out.document({"plugin": name, "enabled": not disabled})
    else:
        s.out.out.print(f"{name}: {word}")


@plugins.command()
@click.argument("name")
@click.pass_context
def enable(ctx: click.Context, name: str) -> None:
    """Allow a plugin to run again (and clear an operator disable)."""
    _set_disabled(ctx, name, False)


@plugins.command()
@click.argument("name")
@click.pass_context
def disable(ctx: click.Context, name: str) -> None:
    """Stop a plugin from being run by pipelines until it is enabled."""
    _set_disabled(ctx, name, True)


@plugins.command()
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["connector", "processor", "analyzer"]))
@click.option("--dir", "dir_", type=click.Path(path_type=Path), default=".", help="parent folder")
@click.pass_context
def new(ctx: click.Context, name: str, kind: str, dir_: Path) -> None:
    """Create an installable plugin project: package, manifest, tests, README."""
    s = session_of(ctx)
    folder = scaffold(name, kind, dir_, taken=taken_names(s.pm))
    if s.out.json:
        s.out.document({"plugin": name, "path": str(folder)})
    else:
        s.out.out.print(
            f"created {folder}; check it with `wiseflow plugins check {folder}`", markup=False
        )
