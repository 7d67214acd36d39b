"""``wiseflow plugins test``: the conformance suite (SPEC §13), printed or as JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from .._contract._errors import ConfigError
from ._session import session_of

__all__ = ["test"]


def _plugin_config(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"--plugin-config is not JSON: {exc}",
            hint="give a JSON object, e.g. --plugin-config '{\"count\": 2}'",
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(
            "--plugin-config must be a JSON object",
            hint="give a JSON object, e.g. --plugin-config '{\"count\": 2}'",
        )
    return value


@click.command(name="test")
@click.argument("target")
@click.option(
    "--level",
    type=click.Choice(["trusted", "sandboxed"]),
    default="sandboxed",
    show_default=True,
    help="sandboxed: the plugin's code runs only in a confined worker",
)
@click.option(
    "--plugin-config",
    "plugin_config",
    metavar="JSON",
    help="the plugin's config as a JSON object (default: [plugins.NAME] config, or the "
    "plugin's defaults)",
)
@click.pass_context
def test(ctx: click.Context, target: str, level: str, plugin_config: str | None) -> None:
    """Conformance suite for a plugin folder, project folder or installed NAME.

    Checks the manifest, interface, config schema (every field described), that shutdown
    is idempotent, the kind's contract (connector checkpoints, processor ids and sources,
    analyzer result JSON) and that the plugin uses no permission it does not declare.
    Exit 0 when every check passes, 1 otherwise.
    """
    from .._host._conformance import conformance

    s = session_of(ctx)
    report = conformance(target, level=level, config=_plugin_config(plugin_config), manager=s.pm)
    if s.out.json:
        s.out.document(report.to_dict())
    else:
        for check in report.checks:
            mark = "[green]ok  [/]" if check.ok else "[bold red]FAIL[/]"
            s.out.out.print(f"{mark} {check.name}: ", end="")
            s.out.out.print(check.message, markup=False, highlight=False)
        passed = sum(c.ok for c in report.checks)
        verdict = "[green]conforms[/]" if report.ok else "[bold red]does not conform[/]"
        s.out.out.print(f"{report.plugin}: {verdict} ({passed}/{len(report.checks)} checks)")
    if not report.ok:
        raise click.exceptions.Exit(1)
