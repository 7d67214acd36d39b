"""Reports: self-contained HTML, Markdown and JSON from a summary and analyzer results."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from wiseflow import Figure, PipelineError
from wiseflow._pipeline._report import render_report
from wiseflow._pipeline._report._markdown import md_block, md_text
from wiseflow._pipeline._report._svg import clean_svg, svg_data_uri

SVG = '<?xml version="1.0"?><!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'
SUMMARY = {
    "run_id": 3,
    "status": "ok",
    "records": {"fetched": 10, "stored": 8, "duplicates": 2, "dead_letters": 1},
    "stages": {"c": {"plugin": "c", "kind": "connector", "in": 0, "out": 10, "errors": 0,
                     "seconds": 0.1, "records_per_s": 100.0}},
    "errors": [{"code": "WF408", "plugin": "p", "message": "<bad> & worse", "hint": "fix"}],
    "seconds": 0.5,
    "dead_letter_sample": [
        {"source": "c", "record_id": "r9", "plugin": "p", "code": "WF408", "reason": "odd"}
    ],
}  # fmt: skip
RESULTS = {
    "entities": {
        "records": 10,
        "tables": [{"title": "Top CVEs", "columns": ["cve", "records"], "rows": [["CVE-1", 3]]}],
    },
    "custom": {"total": 4, "by_day": {"mon": 1, "tue": 3}, "rows": [{"a": 1, "b": "x"}]},
}
FIGURES: dict[str, list[Figure | str]] = {"entities": [Figure("CVEs", SVG)]}


def test_html_report_is_self_contained_and_escaped(tmp_path: Path) -> None:
    """The HTML page shows charts as data-URI images, loads nothing external, escapes text."""
    path = render_report(tmp_path / "r.html", "demo <pipe>", SUMMARY, RESULTS, FIGURES)
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" not in html and "<?xml" not in html
    uri = html.split('<img alt="CVEs" src="', 1)[1].split('"', 1)[0]
    assert uri.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert svg.startswith("<svg") and "<rect" in svg and "<?xml" not in svg
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "Top CVEs" in html
    assert "CVE-1" in html
    assert "demo &lt;pipe&gt;" in html
    assert "&lt;bad&gt; &amp; worse" in html
    assert "tue" in html  # generic results become tables too
    assert "Dead letters" in html
    assert "r9" in html
    assert 'src="http' not in html
    assert "<link" not in html
    assert "http://" not in html


def test_markdown_and_json_reports(tmp_path: Path) -> None:
    """Markdown gets tables and data-URI charts; JSON keeps summary, results and figures."""
    md = render_report(tmp_path / "r.md", "demo", SUMMARY, RESULTS, FIGURES).read_text()
    assert "| cve | records |" in md
    assert "data:image/svg+xml;base64," in md
    doc = json.loads(
        render_report(tmp_path / "r.json", "demo", SUMMARY, RESULTS, FIGURES).read_text()
    )
    assert doc["summary"]["run_id"] == 3
    assert doc["analyzers"]["custom"]["total"] == 4
    assert doc["figures"]["entities"][0]["title"] == "CVEs"


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    """A report named .pdf is a WF501 error with a hint, not a silent default."""
    with pytest.raises(PipelineError) as info:
        render_report(tmp_path / "r.pdf", "demo", SUMMARY, RESULTS, FIGURES)
    assert ".html" in (info.value.hint or "")


def test_hostile_svg_is_reduced_to_a_drawing() -> None:
    """Scripts, handlers, links out, foreignObject and fetching CSS are cut from a figure."""
    evil = (
        '<!DOCTYPE svg [<!ENTITY x "boom">]><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)">'
        "<script>alert(2)</script><foreignObject><iframe src='x'/></foreignObject>"
        '<a href="javascript:alert(3)"><rect onclick="alert(4)" width="5"/></a>'
        '<use xlink:href="https://evil.example/x.svg#a"/><circle r="3" fill="url(#g)"/>'
        '<rect fill="url(https://evil.example/f)" mask="url(\'//evil.example/m\')"/>'
        '<style>@import url("https://evil.example/x.css");</style>'
        "<style>rect{background:\\75 rl(//evil.example/e)}</style>"
        "<style>@font-face{font-family:x;src:local(x)}</style>"
        '<style>*{background-image:image-set("//evil.example/i" 1x)}</style></svg>'
    )
    clean = clean_svg(evil)
    assert clean is not None
    for bad in ("alert(", "onload", "onclick", "foreignObject", "javascript:", "evil.example",
                "<script", "<style", "\\", "font-face"):  # fmt: skip
        assert bad not in clean, bad
    assert '<circle r="3" fill="url(#g)"' in clean  # local references still work
    assert clean_svg("<p>not svg</p>") is None and clean_svg("no markup") is None


def test_svg_declaring_entities_is_refused_even_when_the_doctype_is_split() -> None:
    """No entity expansion (billion laughs) in the host: a DOCTYPE rebuilt by removal fails."""
    laughs = '<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">'
    split = (
        f"<!DOC<!DOCTYPE x>TYPE svg [{laughs}]><svg xmlns='http://www.w3.org/2000/svg'>&b;</svg>"
    )
    assert clean_svg(split) is None
    assert "&b;" not in (clean_svg(f"<!DOCTYPE svg [{laughs}]><svg>&b;</svg>") or "")


def test_svg_without_a_namespace_becomes_a_drawable_image() -> None:
    """An SVG written without xmlns still renders as an image (the SVG namespace is added)."""
    clean = clean_svg("<svg><rect width='4'/></svg>")
    assert clean is not None and 'xmlns="http://www.w3.org/2000/svg"' in clean


def test_matplotlib_charts_survive_cleaning() -> None:
    """A real chart keeps its paths and text in the image the report shows."""
    from wiseflow.plugins._shared.charts import bar_chart

    uri = svg_data_uri(bar_chart(["a", "b"], [3, 5]))
    assert uri is not None
    clean = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert clean.startswith("<svg")
    assert clean.count("<path") >= 2
    assert ">5<" in clean or " 5<" in clean


_NASTY = st.text(
    alphabet=st.sampled_from(list("ab #|`*_[]()!<>&\\~-=:.\t\n\r\x00\x1b\x85\u2028\u2029é")),
    max_size=40,
)


def _rendered_text(markdown: str) -> tuple[list[str], str]:
    """(the tags, the text) of ``markdown`` rendered by a permissive CommonMark renderer."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.validateLink = lambda url: True
    tags: list[str] = []
    text: list[str] = []

    class Dom(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append(tag)

        def handle_data(self, data: str) -> None:
            text.append(data)

    Dom(convert_charrefs=True).feed(md.render(markdown))
    return tags, "".join(text)


@given(_NASTY)
def test_markdown_text_renders_as_exactly_that_text_on_one_line(value: str) -> None:
    """Any string a plugin sends shows as itself in a Markdown report: no markup, one line."""
    tags, text = _rendered_text("x" + md_text(value))
    expected = re.sub(r"\r\n|[\r\n\x85\u2028\u2029\t]", " ", value).replace("\x00", "")
    assert tags == ["p"]
    assert text.strip() == ("x" + expected.replace("\x1b", "")).strip()


@given(_NASTY)
def test_markdown_block_cannot_be_closed_from_inside(value: str) -> None:
    """Multi-line plugin text stays one code block, however many backticks it holds."""
    tags, text = _rendered_text(md_block(value) + "\n\n# after")
    code = re.sub(r"\r\n|[\r\x85\u2028\u2029]", "\n", value)
    assert tags == ["pre", "code", "h1"]
    assert text == code.replace("\x00", "").replace("\x1b", "") + "\n\nafter\n"
