"""How the CLI speaks: rich text for people, one JSON document for machines."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import msgspec

from .._errors import WiseflowError, exit_code_for

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Output"]


class Output:
    """Holds the global options and prints results and errors the same way everywhere."""

    def __init__(self, *, json: bool = False, debug: bool = False) -> None:
        self.json = json
        self.debug = debug
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        """Rich console on stdout (created on first use: --json never loads rich)."""
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def document(self, doc: dict[str, Any]) -> None:
        """Print one JSON document on stdout."""
        sys.stdout.write(msgspec.json.encode(doc).decode() + "\n")
        sys.stdout.flush()

    def error(self, exc: WiseflowError) -> int:
        """Report ``exc`` (code, what, where, hint) and return the exit code."""
        if self.json:
            doc: dict[str, Any] = {"error": exc.to_dict()}
            if exc.problems:
                doc["error"]["problems"] = [p.to_dict() for p in exc.problems]
            self.document(doc)
        else:
            from rich.markup import escape

            where = f" ({exc.plugin})" if exc.plugin else ""
            self.err.print(
                f"[bold red]error {exc.code}[/]: {escape(exc.message)}{escape(where)}", markup=True
            )
            for p in exc.problems[1:] if len(exc.problems) > 1 else ():
                self.err.print(f"  - {p.code}: {p.message}", markup=False)
            if exc.hint:
                self.err.print(f"[dim]hint:[/] {escape(exc.hint)}", markup=True)
        return exit_code_for(exc.code)

    def warn(self, message: str) -> None:
        if not self.json:
            from rich.markup import escape

            self.err.print(f"[yellow]warning[/]: {escape(message)}", markup=True)
        else:
            sys.stderr.write(f"warning: {message}\n")
