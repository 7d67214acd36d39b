"""Judging strings: what a literal or a rebuilt string names, and how it is spelled.

Paths of credential stores and start-up files, exfiltration hosts, shell payloads, token
patterns; names rebuilt from character codes or escapes; long encoded blobs; bidirectional
text controls that hide code.
"""

from __future__ import annotations

import ast
import codecs
import re
from typing import Final

from ._rules import Rule, matching
from ._scope import Scope, sensitive

__all__ = ["judge_bidi", "judge_built", "judge_escapes", "judge_string"]

_ESCAPES: Final = re.compile(r"(?:\\x[0-9a-fA-F]{2}|\\[0-7]{3}|\\u[0-9a-fA-F]{4}){3,}")
_BIDI: Final = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BLOB: Final = re.compile(r"^[A-Za-z0-9+/=_\-\s]{160,}$")


def judge_string(s: Scope, value: str, line: int, *, tricky: bool) -> None:
    """What a string names; ``tricky`` when it was rebuilt rather than written out."""
    # "pip install x" in an error message is advice, not an action: commands are not here
    kinds = ("credential", "persistence", "url", "payload", "evasion", "token")
    for pat in matching(value, *kinds)[:1]:
        sev = pat.rule.severity
        mention = pat.kind in ("credential", "persistence") or pat.rule.rule in (
            "download-exec",
            "silent-process",
        )
        if mention and not tricky:
            sev = "medium"  # named, not yet used: the call that uses it is judged
        s.add(Rule(pat.rule.rule, sev, pat.rule.message), line, value[:80])
        return
    if tricky and sensitive(value):
        rule = Rule("obfuscation", "high", "spells a dangerous name indirectly")
        s.add(rule, line, value[:80])
    elif _BLOB.match(value) and not value.isalpha():
        s.add(Rule("encoded-blob", "low", "embeds a long encoded blob"), line)


def judge_built(s: Scope, value: ast.AST) -> None:
    """A value rebuilt from pieces (chr, reversal, decoding) is judged as the string it is."""
    if isinstance(value, ast.Constant):
        return
    got = s.fold(value)
    if got is None or not got.tricky or isinstance(got.value, int):
        return
    text = got.value.decode("latin-1") if isinstance(got.value, bytes) else got.value
    if len(text) >= 2:
        before = len(s.found)
        judge_string(s, text, getattr(value, "lineno", 0), tricky=True)
        if len(s.found) == before:
            rule = Rule("obfuscation", "low", "builds a string from encoded pieces")
            s.add(rule, getattr(value, "lineno", 0), text[:80])


def judge_escapes(s: Scope, source: str) -> None:
    """Strings spelled in escape codes (``"\\x65\\x76\\x61\\x6c"``) that decode to text."""
    for match in _ESCAPES.finditer(source):
        try:
            text = codecs.decode(match.group(0), "unicode_escape")
        except UnicodeDecodeError:
            continue
        if not text.isprintable() or not text.isascii():
            continue
        line = source.count("\n", 0, match.start()) + 1
        sev = "high" if sensitive(text.strip()) else "medium"
        s.add(Rule("obfuscation", sev, "spells a string in escape codes"), line, text[:40])


def judge_bidi(s: Scope, source: str) -> None:
    """Bidirectional text controls (trojan source) on every line they occur."""
    for match in _BIDI.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        s.add(Rule("obfuscation", "high", "hides code with bidirectional text controls"), line)
