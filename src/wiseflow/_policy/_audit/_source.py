"""The audit of one module's source: parse and walk it, or read it line by line.

Source that does not parse (Python 2, a fragment) is refused, and each line is still
judged alone (or by keyword when a line does not parse by itself), so one syntax error
does not hide every other statement.
"""

from __future__ import annotations

import ast
import re
from typing import Final

from ._rules import Rule, matching
from ._scan import Scanner
from ._scope import Finding

__all__ = ["scan"]


def scan(source: str, file: str) -> list[Finding]:
    """Every finding in one module's source (``unparsable`` when it does not parse).

    Source that does not parse (Python 2, a fragment) is refused, and still read line by
    line so that what it would do is reported too.
    """
    try:
        tree = ast.parse(source, filename=file)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        msg = getattr(exc, "msg", str(exc))
        refused = Finding("unparsable", "high", f"cannot be audited: {msg}", line)
        return [refused, *_line_by_line(source, file)]
    except (MemoryError, RecursionError):  # nested too deep for the parser itself
        refused = Finding("unparsable", "high", "cannot be audited: nested too deeply", 0)
        return [refused, *_line_by_line(source, file)]
    try:
        return Scanner(file, source).run(tree)
    except RecursionError:
        return [Finding("unparsable", "high", "cannot be audited: nested too deeply", 0)]


_PY2_EXEC: Final = re.compile(r"^(\s*)(exec|print)\s+(?![(=])(.+)$")
_KEYWORDS: Final = (
    (re.compile(r"\b(exec|eval|execfile|compile)\b"), Rule("dynamic-code", "high",
     "executes code from a string")),
    (re.compile(r"\b(os\.system|os\.popen|subprocess\.|Popen\b|commands\.getoutput)"),
     Rule("subprocess", "medium", "starts programs")),
    (re.compile(r"\b(urlopen|urlretrieve|requests\.|urllib2?\.|socket\.)"),
     Rule("network", "low", "makes network connections itself; use ctx.http")),
    (re.compile(r"\b(b64decode|decodestring|fromhex|unhexlify|decompress|marshal\.loads)\b"),
     Rule("obfuscation", "low", "decodes data")),
)  # fmt: skip


def _line_by_line(source: str, file: str) -> list[Finding]:
    """Findings of each line read alone, or matched by keyword when a line does not parse."""
    found: list[Finding] = []
    for number, raw in enumerate(source.splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#") or len(text) > 4000:
            continue
        py2 = _PY2_EXEC.match(text)
        if py2 and py2.group(2) == "exec":
            text = f"exec({py2.group(3)})"  # Python 2: exec "code"
        try:
            tree = ast.parse(text.rstrip(":") if text.endswith(":") else text)
        except (SyntaxError, ValueError):
            found += [Finding(r.rule, r.severity, r.message, number)
                      for rx, r in _KEYWORDS if rx.search(text)]  # fmt: skip
            found += [Finding(p.rule.rule, p.rule.severity, p.rule.message, number)
                      for p in matching(text)[:1]]  # fmt: skip
            continue
        try:
            found += [f._replace(line=number) for f in Scanner(file, text).run(tree)]
        except RecursionError:
            continue
    return found
