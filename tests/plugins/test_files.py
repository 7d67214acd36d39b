"""files: Markdown, text and HTML under a root; HTML to text; mtime checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PIPE = """
[pipeline]
name = "f"
[[sources]]
plugin = "files"
config = {{ root = "{root}" }}
"""


def test_documents_are_read_and_html_becomes_text(tmp_path: Path, run: Any) -> None:
    """Markdown titles, plain text and HTML (scripts dropped) become document records."""
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# Title A\n\nSome *markdown*.\n")
    (root / "sub" / "b.txt").write_text("plain text")
    (root / "c.html").write_text(
        "<html><head><title>Page C</title><script>alert(1)</script></head>"
        "<body><h1>Hello</h1><p>World &amp; more</p></body></html>"
    )
    (root / "ignored.bin").write_bytes(b"\0\1")
    summary, store = run(PIPE.format(root=root))
    recs = {r.id: r for r in store.records()}
    assert set(recs) == {"a.md", "sub/b.txt", "c.html"}
    assert recs["a.md"].title == "Title A"
    assert recs["c.html"].title == "Page C"
    assert "World & more" in recs["c.html"].text
    assert "alert" not in recs["c.html"].text
    again, _ = run(PIPE.format(root=root))
    assert again.fetched == 0
