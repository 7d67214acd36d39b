"""``wiseflow doctor``: registered once the sandbox probe is wired in."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    del cli
