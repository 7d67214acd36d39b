"""What flows into a call: its arguments, their taint, and where to report a finding.

Shared by the call judges (``_calls``, ``_programs``, ``_io``).
"""

from __future__ import annotations

import ast
import re
from typing import Final

from ._rules import MODULES, Rule
from ._scope import (
    DECODED,
    IMAGE,
    NET,
    OBF,
    Scope,
)

__all__ = ["EXEC_EXT", "also", "arg", "devnull", "hidden", "module_rule", "taint"]

EXEC_EXT: Final = re.compile(
    r"\.(exe|scr|bat|cmd|ps1|vbs|js|jar|msi|dll|so|dylib|sh|elf|py|pyw|pyc|app)$|"
    r"/(bin|tmp)/[^/.]+$",
    re.IGNORECASE,
)


def module_rule(module: str) -> tuple[str, Rule] | None:
    """The table entry for ``module`` or its closest parent."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in MODULES:
            return key, MODULES[key]
    return None


def arg(node: ast.Call, index: int, *names: str) -> ast.expr | None:
    if len(node.args) > index and not isinstance(node.args[index], ast.Starred):
        return node.args[index]
    for kw in node.keywords:
        if kw.arg in names:
            return kw.value
    return None


def taint(s: Scope, node: ast.Call) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for part in [*node.args, *(k.value for k in node.keywords)]:
        out |= s.labels_of(part)
    return out


def hidden(s: Scope, node: ast.Call) -> str | None:
    """Why the data passed to ``node`` is hidden code, if it is."""
    labels = taint(s, node)
    for arg in node.args[:1]:
        got = s.fold(arg)
        if got is not None and got.tricky:
            labels |= {OBF}
    if DECODED in labels:
        return "decoded code (base64/hex/zlib/marshal)"
    if NET in labels:
        return "code downloaded from the network"
    if IMAGE in labels:
        return "data hidden in an image (steganography)"
    if OBF in labels:
        return "code built from obfuscated pieces"
    return None


def also(s: Scope, rule: Rule, node: ast.Call, labels: frozenset[str], detail: str = "") -> None:
    """Report ``rule`` also on the lines of multi-line arguments that carry ``labels``."""
    lines = {node.lineno}
    for part in [*node.args, *(k.value for k in node.keywords)]:
        if part.lineno not in lines and s.labels_of(part) & labels:
            lines.add(part.lineno)
            s.add(rule, part.lineno, detail)


def devnull(s: Scope, node: ast.expr) -> bool:
    what = s.resolve(node) or s.text(node)
    return "DEVNULL" in what or "devnull" in what
