"""Reports: self-contained HTML, Markdown and JSON from a summary and analyzer results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wiseflow import Figure, PipelineError
from wiseflow._report import render_report

SVG = '<?xml version="1.0"?><!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'
SUMMARY = {
    "run_id": 3,
    "status": "ok",
    "records": {"fetched": 10, "stored": 8, "duplicates": 2, "dead_letters": 1},
    "stages": {"c": {"plugin": "c", "kind": "connector", "in": 0, "out": 10, "errors": 0,
                     "seconds": 0.1, "records_per_s": 100.0}},
    "errors": [{"code": "WF408", "plugin": "p", "message": "<bad> & worse", "hint": "fix"}],
    "seconds": 0.5,
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
    """The HTML page inlines CSS and SVG, loads nothing external, and escapes text."""
    path = render_report(tmp_path / "r.html", "demo <pipe>", SUMMARY, RESULTS, FIGURES)
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html
    assert "<?xml" not in html
    assert "<rect/>" in html
    assert "Top CVEs" in html
    assert "CVE-1" in html
    assert "demo &lt;pipe&gt;" in html
    assert "&lt;bad&gt; &amp; worse" in html
    assert "tue" in html  # generic results become tables too
    assert "src=" not in html
    assert "<link" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")


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
