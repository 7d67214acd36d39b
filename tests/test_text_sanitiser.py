"""The terminal sanitiser: no character a terminal acts on survives, whatever the input."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from wiseflow._cli._text import json_safe, terminal_safe

_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def _acts_on_terminal(ch: str, *, newline_ok: bool) -> bool:
    if ch == "\t" or (newline_ok and ch == "\n"):
        return False
    return unicodedata.category(ch) == "Cc" or ch in _BIDI


@given(st.text(), st.booleans())
def test_no_control_survives(text: str, multiline: bool) -> None:
    """Any text comes out without C0/DEL/C1/bidi controls (newline only in a block)."""
    out = terminal_safe(text, multiline=multiline, limit=None)
    assert not any(_acts_on_terminal(ch, newline_ok=multiline) for ch in out)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=200))
def test_text_without_controls_is_unchanged(text: str) -> None:
    """Ordinary text (any script, emoji, tabs aside) is printed as it is."""
    if not set(text) & _BIDI:
        assert terminal_safe(text) == text


@given(st.text(), st.integers(min_value=0, max_value=50))
def test_length_is_bounded(text: str, limit: int) -> None:
    """At most ``limit`` characters of the input are kept (each escape at most 6 wide)."""
    out = terminal_safe(text, limit=limit)
    if len(text) <= limit:
        assert "more characters]" not in out or "more characters]" in text
    assert len(out) <= 6 * limit + len(f"… [{len(text)} more characters]")


@given(st.text())
def test_json_documents_keep_their_value(text: str) -> None:
    """json_safe changes how a JSON text is spelled, never what it means."""
    import json

    doc = json.dumps({"k": text}, ensure_ascii=False)
    safe = json_safe(doc)
    assert json.loads(safe) == {"k": text}
    assert not any("\x7f" <= ch <= "\x9f" or ch in _BIDI for ch in safe)
