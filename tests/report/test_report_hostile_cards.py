"""The report's new plugin-controlled surfaces are data: an analyzer's ``cards``, its
``lead_figures`` count and ``lead`` tables, and what the run document says of plugins.

The attack: HTML, Markdown structure and oversized values in every one of them. Positive
control: the same strings inlined raw are live elements and attributes to the parser the
assertions use. Then: the HTML report holds only the host's elements and attributes, the
Markdown only the host's sections, the values show as text, bounded.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from wiseflow._pipeline._report import render_report

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
HEADING = "x\n\n## Forged section\n\n[link](javascript:alert(3))"
EVIL: dict[str, dict[str, Any]] = {
    "evil": {
        "cards": [
            [SCRIPT, IMG],
            [HEADING, "ok"],
            ["L" * 5000, 1],
            "not a card",
            [1, 2, 3],
            ["a mapping", {"x": 1}],
            *[[f"card {i}", i] for i in range(40)],
        ],
        "lead_figures": 10**12,
        "tables": [
            {"title": IMG, "columns": [SCRIPT], "rows": [[HEADING]], "lead": True},
            {"title": "later", "columns": ["c"], "rows": [[IMG]], "lead": "yes"},
        ],
    },
    "odd": {"cards": "nope", "lead_figures": True, "tables": []},
}
SUMMARY: dict[str, Any] = {
    "run_id": 1,
    "status": "ok",
    "records": {"fetched": 1, "stored": 1},
    "seconds": 1.0,
    "records_per_s": 1.0,
    "stages": {IMG: {"plugin": SCRIPT, "kind": "analyzer", "in": 7, "out": 0}},
    "plugins": {
        IMG: {"state": SCRIPT, "calls": HEADING, "errors": 1, "error_codes": [IMG],
              "resources": {"cpu_s": IMG, "peak_rss_mb": SCRIPT}, "breaker": {"state": IMG}},
        "plain": "not a mapping",
    },
}  # fmt: skip
HOST_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "span",
    "main", "nav", "a", "div", "b", "section", "figure", "figcaption", "img", "pre", "table",
    "thead", "tbody", "tr", "th", "td", "footer",
}  # fmt: skip
HOST_ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "alt"}


class _Dom(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_raw_payloads_would_be_live() -> None:
    """Positive control: printed raw, the card and plugin strings are live markup."""
    dom = _Dom(f"<div class='card'><b>{IMG}</b><span>{SCRIPT}</span></div>")
    assert "script" in {t for t, _ in dom.tags}
    assert ("img", {"src": "x", "onerror": "alert(2)"}) in dom.tags
    md = MarkdownIt("commonmark", {"html": True})
    md.validateLink = lambda url: True
    assert "<h2>Forged section</h2>" in md.render(HEADING)


def test_cards_lead_tables_and_plugin_rows_are_text_in_the_html(tmp_path: Path) -> None:
    """Only host elements and attributes; payloads visible as text; cards bounded."""
    html = render_report(tmp_path / "r.html", "p", SUMMARY, EVIL, {}).read_text()
    dom = _Dom(html)
    assert {t for t, _ in dom.tags} <= HOST_TAGS
    for _, attrs in dom.tags:
        assert set(attrs) <= HOST_ATTRS and (attrs.get("href") or "#").startswith("#"), attrs
    assert not [t for t, _ in dom.tags if t == "img"]  # no figures were given
    text = "".join(dom.text)
    assert SCRIPT in text and IMG in text and "## Forged section" in text
    assert "L" * 80 in text and "L" * 81 not in text  # a card label is cut at 80
    cards = html.count("class='card'")
    assert cards == 6 + 12  # this run's 6, and 12 of the data covered at most
    assert html.index(IMG.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")) < (
        html.index(">later<")
    )  # the lead table comes first; a "lead" that is not true is not lead


def test_cards_and_plugin_rows_are_text_in_the_markdown(tmp_path: Path) -> None:
    """No plugin HTML, link or section in the Markdown report."""
    md = render_report(tmp_path / "r.md", "p", SUMMARY, EVIL, {}).read_text()
    assert "<" not in md.replace("&lt;", "")
    headings = [ln for ln in md.splitlines() if ln.startswith("#") and not ln.startswith("###")]
    assert headings == ["# p", "## evil", "## odd", "## Run details"]
    renderer = MarkdownIt("commonmark", {"html": True}).enable("table")
    renderer.validateLink = lambda url: True
    dom = _Dom(renderer.render(md))
    tags = {t for t, _ in dom.tags}
    assert not tags & {"script", "img", "a", "h4"}
    assert [t for t, _ in dom.tags if t == "h2"] == ["h2"] * 3
    text = "".join(dom.text)
    assert SCRIPT in text and "[link](javascript:alert(3))" in text
