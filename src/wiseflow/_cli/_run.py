"""``wiseflow run``: registered once the pipeline engine is wired in."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    del cli
