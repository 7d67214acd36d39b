"""Constant folding: the audit sees the value a plain expression builds, without running it."""

from __future__ import annotations

import ast

import pytest

from wiseflow._policy._audit._fold import UNKNOWN, Folded, fold


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def value(expr: str, **names: str) -> Folded | None:
    known = {k: Folded(v, False) for k, v in names.items()}
    return fold(ast.parse(expr, mode="eval").body, known.get, dotted)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("'sub' + 'process'", "subprocess"),
        ("''.join(chr(c) for c in [101, 118, 97, 108])", "eval"),
        ("''.join(map(chr, [111, 115]))", "os"),
        ("chr(100 + 1) + chr(0x78) + chr(101) + chr(99)", "exec"),
        ("'metsys'[::-1]", "system"),
        ("bytes.fromhex('6576616c').decode()", "eval"),
        ("base64.b64decode('ZXhlYw==').decode()", "exec"),
        ("codecs.decode('riny', 'rot13')", "eval"),
        ("'%s%s' % ('po', 'pen')", "popen"),
        ("'{}{}'.format('get', 'attr')", "getattr"),
        ("f'{a}{b}'", "__import__"),
        ("bytes([105, 100])", b"id"),
        ("'EXEC'.lower()", "exec"),
    ],
)
def test_folding_rebuilds_hidden_values(expr: str, expected: str | bytes) -> None:
    """Concatenation, chr, joins, reversal, hex, base64, rot13 and formatting are undone."""
    got = value(expr, a="__imp", b="ort__")
    assert got is not None and got.value == expected


def test_tricks_are_marked_and_plain_strings_are_not() -> None:
    """A value rebuilt from character codes is tricky; a literal or a plain concat is not."""
    assert value("''.join(map(chr, [111, 115]))").tricky  # type: ignore[union-attr]
    assert value("'abc'[::-1]").tricky  # type: ignore[union-attr]
    assert not value("'data/' + 'raw'").tricky  # type: ignore[union-attr]
    assert not value("', '.join(['alpha', 'beta', 'gamma'])").tricky  # type: ignore[union-attr]


def test_unknown_parts_are_unknown_in_partial_text() -> None:
    """With partial folding, a path built around a variable keeps its known parts."""
    tree = ast.parse("os.path.join(home, '.ssh', 'id_rsa')", mode="eval").body
    got = fold(tree, {}.get, dotted, texts={}.get)
    assert got is not None and got.value == f"{UNKNOWN}/.ssh/id_rsa"
    assert value("os.path.join(home, 'x')") is None  # exact folding gives up instead


def test_folding_is_bounded() -> None:
    """Huge products and deep nesting are refused instead of built (no memory blow-up)."""
    assert value("'a' * 10**9") is None
    assert value("'a' * 1000000000") is None
    deep = "+".join(["'a'"] * 200)
    got = value(deep)
    assert got is None or got.value == "a" * 200
