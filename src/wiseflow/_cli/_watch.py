"""``wiseflow run --watch``'s options, and its reload notices on stderr."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._output import Output

if TYPE_CHECKING:
    from .._run._watch import Watch

__all__ = ["watch_of", "watch_options"]

F = TypeVar("F", bound=Callable[..., Any])


def watch_options(f: F) -> F:
    """``--watch``, ``--poll SECONDS``, ``--reapprove-dev``."""
    f = click.option(
        "--reapprove-dev",
        is_flag=True,
        help="with --watch: re-approve a changed folder plugin in wiseflow.lock (files only, "
        "never more permissions); default: refused with WF303",
    )(f)
    f = click.option(
        "--poll",
        type=click.FloatRange(min=0.05),
        default=2.0,
        show_default=True,
        metavar="SECONDS",
        help="with --watch: ask drained sources again after this long",
    )(f)
    return click.option(
        "--watch",
        is_flag=True,
        help="keep running: poll the sources again, reload plugins whose files change "
        "(between batches); Ctrl-C ends it",
    )(f)


def watch_of(out: Output, *, watch: bool, poll: float, reapprove_dev: bool) -> Watch | None:
    """The run's :class:`Watch` (None without ``--watch``); notices go to stderr, never to
    stdout (``--json`` stays one document)."""
    if not watch:
        if reapprove_dev:
            raise click.UsageError("--reapprove-dev needs --watch")
        return None
    from .._run._watch import Watch
    from ._text import terminal_safe

    def notify(message: str, fields: dict[str, Any]) -> None:
        out.err.print(terminal_safe(f"watch: {message}", limit=2000), markup=False)
        if fields.get("hint"):
            out.err.print(terminal_safe(f"  hint: {fields['hint']}", limit=1000), markup=False)

    return Watch(poll_s=poll, reapprove=reapprove_dev, notify=notify)
