"""``wiseflow plugins migrate PATH``: plugin.toml for original-API plugins (SPEC §16)."""

from __future__ import annotations

from typing import Any

import click

from .._contract._errors import exit_code_for
from ._output import shown
from ._session import session_of

__all__ = ["migrate"]


@click.command(name="migrate")
@click.argument("path", type=click.Path(exists=False))
@click.option("--dry-run", is_flag=True, help="print what would be written; write nothing")
@click.pass_context
def migrate(ctx: click.Context, path: str, dry_run: bool) -> None:
    """Write the plugin.toml that plugins of the original WiseFlow API lack.

    PATH is a folder holding one legacy plugin, a folder of such folders, or a legacy .py
    file (given a folder of its own beside it). The code is read, never run: the report
    says what was assumed, what the static audit saw it use, and the `wiseflow plugins
    grant` command to run after review. Nothing is granted.
    """
    from .._migrate import migrate as run_migration

    s = session_of(ctx)
    report = run_migration(path, dry_run=dry_run)
    if s.out.json:
        s.out.document(report.to_dict())
    else:
        for plugin in report.plugins:
            _print(s.out, plugin, dry_run)
    if not report.ok:
        codes = {exit_code_for(p["code"]) for d in report.plugins for p in d["problems"]}
        raise click.exceptions.Exit(next(c for c in (3, 2, 4, 1) if c in codes))


def _print(out: Any, plugin: dict[str, Any], dry_run: bool) -> None:
    def line(text: str) -> None:
        out.out.print(shown(text, markup=False, limit=2000), markup=False, highlight=False)

    if plugin["problems"]:
        out.err.print(f"[bold red]{shown(plugin['folder'])}: not migrated[/]")
        for p in plugin["problems"]:
            out.err.print(shown(f"error {p['code']}: {p['message']}", markup=False), markup=False)
            out.err.print(shown(f"  hint: {p['hint']}", markup=False), markup=False)
        return
    if plugin["written"]:
        state = "written"
    elif dry_run and plugin["plugin_toml"] is not None:
        state = "would be written (dry run)"
    else:
        state = "not written"
    line(f"{plugin['name']} ({plugin['kind']}): {plugin['manifest']} {state}")
    line(f"  entry: {plugin['entry']}")
    line("  assumed:")
    for note in plugin["assumed"]:
        line(f"    - {note}")
    line("  the static audit saw:" if plugin["uses"] else "  the static audit saw nothing")
    for use in plugin["uses"]:
        where = f"{use['file']}:{use['line']}" if use["line"] else use["file"]
        declared = f" -> declared: {use['declared']}" if use["declared"] else ""
        line(f"    - {use['severity']:8} {use['rule']}: {use['message']} ({where}){declared}")
    for command in plugin["grants"]:
        line(f"  after review, grant what it declares: {command}")
    if dry_run and plugin["plugin_toml"]:
        line("  plugin.toml:")
        for text in plugin["plugin_toml"].splitlines():
            line(f"    {text}")
