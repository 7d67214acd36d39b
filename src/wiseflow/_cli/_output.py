"""How the CLI speaks: rich text for people, one JSON document for machines.

Everything printed goes through :class:`Output`, and all of it is treated as data: the rich
consoles it hands out (:attr:`Output.out`, :attr:`Output.err`) show every string they render
through :func:`~wiseflow._cli._text.terminal_safe`, so plugin-controlled text (names,
descriptions, messages, hints, log lines) cannot drive the terminal whichever command prints
it; JSON documents escape DEL, C1 and bidi controls as well as C0. Granted secret values
known to any live :class:`~wiseflow._policy._redact.Redactor` are masked in all of it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

import msgspec

from .._contract._errors import WiseflowError, exit_code_for
from .._policy._redact import redact_all
from ._text import json_safe, terminal_safe

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Output", "fitted_table", "safe_console", "shown"]


def shown(text: object, *, markup: bool = True, limit: int | None = 500) -> str:
    """Plugin-controlled text as one safe line for a console: controls escaped, cut, and
    (for ``markup=True`` prints and table cells) rich markup escaped, so that a name like
    ``[link=https://evil]`` is shown, not turned into a hyperlink.

    Example:
        ``out.print(f"[bold]{shown(manifest.name)}[/] {shown(manifest.version)}")``
    """
    line = terminal_safe(redact_all(str(text)), limit=limit)
    if not markup:
        return line
    from rich.markup import escape

    return escape(line)


def safe_console(**kw: Any) -> Console:
    """A rich ``Console`` that renders every string and ``Text`` terminal-safe.

    Strings (``print("...")``, table cells, titles) pass :func:`terminal_safe` before rich
    parses markup; ``Text`` objects holding a control character are rebuilt from their
    escaped plain text. Emoji codes (``:x:``) are shown as written.
    """
    from rich.console import Console
    from rich.errors import MarkupError
    from rich.text import Text

    class SafeConsole(Console):
        def render_str(self, text: str, **kwargs: Any) -> Text:
            clean = terminal_safe(redact_all(text), multiline=True, limit=None)
            if kwargs.get("markup", self._markup) is not False and "link" in clean.lower():
                # the host never prints hyperlinks: a `[link=URL]` here came from plugin text
                clean = _LINK_TAG.sub(r"\1\\[", clean)
            try:
                return super().render_str(clean, **kwargs)
            except MarkupError:  # plugin text broke the host's markup: show it all as text
                return super().render_str(clean, **{**kwargs, "markup": False})

        def print(self, *objects: Any, **kwargs: Any) -> None:
            safe = [_safe_text(o, Text) if isinstance(o, Text) else o for o in objects]
            super().print(*safe, **kwargs)

    # `:x:` in plugin text stays `:x:`: emoji codes are a rendering the host never asks for
    return SafeConsole(**{"emoji": False, **kw})


# A `[` opening a link tag that rich would parse: one preceded by an even number of
# backslashes (none, or escaped backslashes); an odd number means it is escaped already.
_LINK_TAG = re.compile(r"(?<!\\)((?:\\\\)*)\[(?=/?link\b)", re.IGNORECASE)


def _safe_text(text: Any, cls: Any) -> Any:
    plain = text.plain
    clean = terminal_safe(redact_all(plain), multiline=True, limit=None)
    return text if clean == plain else cls(clean, style=text.style)


class Output:
    """Holds the global options and prints results and errors the same way everywhere."""

    def __init__(self, *, json: bool = False, debug: bool = False) -> None:
        self.json = json
        self.debug = debug
        self._out: Console | None = None
        self._err: Console | None = None
        self._documents: TextIO | None = None  # where --json documents go (see claim_stdout)

    def claim_stdout(self) -> None:
        """Keep stdout for the JSON document alone (``--json``).

        Plugin code in the host (a trusted plugin's ``print``, a library writing to fd 1)
        would otherwise write into the one document stdout holds: fd 1 now points to
        stderr, and documents go to a copy of the original stdout. Does nothing when
        stdout is not fd 1 (an embedding caller's capture).
        """
        try:
            if sys.stdout.fileno() != 1:
                return
        except (AttributeError, OSError, ValueError):
            return
        sys.stdout.flush()
        keep = os.dup(1)
        os.set_inheritable(keep, False)  # workers and programs never get the document's fd
        os.dup2(2, 1)
        self._documents = os.fdopen(keep, "w", encoding="utf-8", errors="replace")

    @property
    def out(self) -> Console:
        """Rich console on stdout (created on first use: --json never loads rich)."""
        if self._out is None:
            self._out = safe_console(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = safe_console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def document(self, doc: dict[str, Any]) -> None:
        """Print one JSON document on stdout."""
        text = redact_all(msgspec.json.encode(doc).decode())  # JSON spellings are known too
        stream = self._documents or sys.stdout
        stream.write(json_safe(text) + "\n")
        stream.flush()

    def error(self, exc: WiseflowError) -> int:
        """Report ``exc`` (code, what, where, hint) and return the exit code."""
        if self.json:
            doc: dict[str, Any] = {"error": exc.to_dict()}
            if exc.problems:
                doc["error"]["problems"] = [p.to_dict() for p in exc.problems]
            if exc.traceback:
                doc["error"]["traceback"] = exc.traceback
            self.document(doc)
        else:
            from rich.markup import escape

            message = escape(terminal_safe(redact_all(exc.message)))
            where = escape(terminal_safe(f" ({exc.plugin})")) if exc.plugin else ""
            self.err.print(
                f"[bold red]error {escape(terminal_safe(exc.code, limit=40))}[/]: {message}{where}",
                markup=True,
            )
            # Each problem as --json has it: where (file:line) and its own hint, when that
            # says more than the error's (the summary line names only the first problem).
            many = len(exc.problems) > 1
            for p in exc.problems:
                where = f" ({p.file}{f':{p.line}' if p.line else ''})" if p.file else ""
                if many:
                    line = redact_all(f"  - {p.code}: {p.message}{where}")
                    self.err.print(terminal_safe(line), markup=False)
                elif where and (p.line or p.file != exc.plugin):
                    self.err.print(terminal_safe(redact_all(f"  at{where}")), markup=False)
                if p.hint and p.hint != exc.hint:
                    line = redact_all(f"{'    ' if many else '  '}hint: {p.hint}")
                    self.err.print(terminal_safe(line), markup=False)
            if exc.hint:
                hint = escape(terminal_safe(redact_all(exc.hint)))
                self.err.print(f"[dim]hint:[/] {hint}", markup=True)
            if self.debug and exc.traceback:  # the plugin's own, not the host's
                block = terminal_safe(redact_all(exc.traceback), multiline=True, limit=None)
                self.err.print(block, markup=False)
        return exit_code_for(exc.code)

    def warn(self, message: str) -> None:
        if not self.json:
            from rich.markup import escape

            self.err.print(f"[yellow]warning[/]: {escape(terminal_safe(message))}", markup=True)
        else:
            sys.stderr.write(f"warning: {terminal_safe(redact_all(message))}\n")


def fitted_table(
    console: Console,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    optional: Sequence[str] = (),
    wrap: Sequence[str] = (),
) -> Any:
    """A table that reads at the console's width (80 columns included).

    Columns in ``optional`` are dropped, in that order, while the table would be wider than
    the console; columns in ``wrap`` (free text) fold onto more lines; every other column
    keeps its cells on one line (cut with an ellipsis at worst), so that a name or a state
    is never broken into fragments.
    """
    from rich.table import Table

    keep = list(header)
    widths = {col: max([len(col), *(len(row[i]) for row in rows)]) for i, col in enumerate(header)}
    for col in optional:
        if sum(widths[c] + 3 for c in keep) + 1 <= console.width:
            break
        keep.remove(col)
    table = Table(title=title, title_justify="left")
    for col in keep:
        if col in wrap:
            table.add_column(col, overflow="fold", min_width=min(widths[col], 12))
        else:
            table.add_column(col, no_wrap=True, overflow="ellipsis")
    index = [list(header).index(c) for c in keep]
    for row in rows:
        table.add_row(*(row[i] for i in index))
    return table
