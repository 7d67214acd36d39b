"""``wiseflow doctor``: which confinement layers this machine has, and what follows."""

from __future__ import annotations

import click

from ._session import session_of

__all__ = ["register"]

_MEANING = {
    "seccomp": "system-call filter: no sockets, no exec, no ptrace for plugins",
    "landlock_abi": "filesystem rules: plugins read only granted paths, write only their data dir",
    "netns": "private network namespace: no network except through the host",
    "userns": "user namespaces (for unprivileged confinement)",
    "rlimits": "memory, CPU, open-file and file-size limits per worker",
}


def register(cli: click.Group) -> None:
    cli.add_command(doctor)


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Report the confinement layers this machine supports, per security level."""
    from rich.table import Table

    from .._sandbox import probe

    s = session_of(ctx)
    report = probe(refresh=True)
    weaker = s.config.policy.allow_weaker_sandbox
    doc = {**report, "allow_weaker_sandbox": weaker}
    if s.out.json:
        s.out.document(doc)
        return
    table = Table(title="confinement layers", title_justify="left")
    for col in ("layer", "available", "what it gives"):
        table.add_column(col)
    for layer, value in report["layers"].items():
        ok = bool(value)
        shown = f"ABI {value}" if layer == "landlock_abi" and ok else ("yes" if ok else "no")
        table.add_row(
            layer, f"[green]{shown}[/]" if ok else f"[red]{shown}[/]", _MEANING.get(layer, "")
        )
    s.out.out.print(table)
    for level, verdict in report["levels"].items():
        from rich.markup import escape

        colour = "green" if verdict == "ok" else "red"
        s.out.out.print(f"{level:10} [{colour}]{escape(str(verdict))}[/]")
    if weaker:
        s.out.warn(
            "allow_weaker_sandbox = true: sandboxed plugins run even where a layer is missing"
        )
