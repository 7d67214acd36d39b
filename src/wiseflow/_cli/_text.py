"""Plugin text made safe for a terminal: one sanitiser for every line the CLI prints.

Everything a plugin produces is data (SPEC §11): its log lines, error messages, hints and
manifest fields must never drive the operator's terminal. :func:`terminal_safe` shows every
character a terminal would act on as a visible escape instead:

- C0 controls (``\\x00``-``\\x1f``) except tab, and newline where the caller allows lines;
  carriage return always (it rewrites the start of a line);
- DEL and the C1 controls (``\\x80``-``\\x9f``: 8-bit CSI ``\\x9b``, OSC ``\\x9d``, DCS ...);
- ESC itself, so no ESC sequence (CSI, OSC 0/8/52, DCS, ...) can start;
- Unicode bidi controls (``U+202A``-``U+202E``, ``U+2066``-``U+2069``, LRM/RLM/ALM) and the
  line/paragraph separators, which reorder or break what the operator reads.

Text is also bounded in length. Escaping (rather than deleting) keeps what the plugin sent
readable for the operator, and an escaped ESC leaves the rest of a sequence inert text.

Example:
    >>> terminal_safe("\\x1b]0;owned\\x07 done")
    '\\\\x1b]0;owned\\\\x07 done'
"""

from __future__ import annotations

import logging
import re

__all__ = ["LINE_LIMIT", "SafeFormatter", "json_safe", "terminal_safe"]

#: Characters kept of one line of plugin text on a terminal (the rest is counted).
LINE_LIMIT = 4000

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE_LINE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_BLOCK = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# JSON escapes C0 itself; what it may leave raw and a terminal could still act on:
_UNSAFE_JSON = re.compile(f"[\x7f-\x9f{_BIDI}]")


def json_safe(document: str) -> str:
    """A JSON text with DEL, C1 and bidi controls written as ``\\uXXXX`` (same value)."""
    if _UNSAFE_JSON.search(document) is None:
        return document
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def terminal_safe(text: object, *, multiline: bool = False, limit: int | None = LINE_LIMIT) -> str:
    """``text`` with every terminal control shown escaped, cut at ``limit`` characters.

    Args:
        text: anything; non-strings are converted with ``str()``.
        multiline: keep newlines (a block such as a traceback); otherwise a newline is
            shown as ``\\n`` so one message stays one line.
        limit: characters kept (None: no bound); a cut is marked with the count dropped.
    """
    s = text if isinstance(text, str) else str(text)
    cut = 0
    if limit is not None and len(s) > limit:
        cut = len(s) - limit
        s = s[:limit]
    pattern = _UNSAFE_BLOCK if multiline else _UNSAFE_LINE
    if pattern.search(s) is not None:
        s = pattern.sub(_escape, s)
    if cut:
        s += f"… [{cut} more characters]"
    return s


class SafeFormatter(logging.Formatter):
    """A log formatter for terminals: the message is one escaped line, tracebacks a block.

    A newline inside a plugin's message cannot start a second, forged log line, and no
    escape sequence in it reaches the terminal.
    """

    def format(self, record: logging.LogRecord) -> str:
        saved = record.msg, record.args, record.exc_text
        try:
            record.msg, record.args = terminal_safe(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = terminal_safe(record.exc_text, multiline=True, limit=None)
            if record.stack_info:
                record.stack_info = terminal_safe(record.stack_info, multiline=True, limit=None)
            return super().format(record)
        finally:
            record.msg, record.args, record.exc_text = saved
