"""Report denial of service: figures and results built to hang the host or cost the report.

A sandboxed analyzer returns, beside one honest chart, SVG figures crafted against the
host's sanitiser (a DOCTYPE of ``[]`` pairs that made its regular expression backtrack
exponentially, repeated ``<?xml`` and ``<!DOCTYPE`` openings that made it quadratic, a
tree nested 5,000 deep, one of 250,000 forbidden elements) and results shaped to break the
tables (rows that are not lists, columns that are not a list, a cell nested 450 deep, keys
of 20 KB nested 60 deep). Before: a run hung in the host's report code (hours of CPU for
the DOCTYPE), or ended ``failed`` with ``WF400 RecursionError (report)`` and no report at
all. Now ``wiseflow run`` ends ``ok`` (exit 0) and writes the report: the honest chart and
a benign analyzer's section are shown, every hostile figure is a note, the hostile result
is shown as tables.

Positive controls: the JSON report carries every hostile figure verbatim (the plugin did
send them), and the sanitiser as it was (kept below) hangs on the crafted prologs (killed
at a deadline far below the years it would take) and raises RecursionError on the deep
figure and cell.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, cast

import pytest
from cli_kit import document, wf

from wiseflow._pipeline._report._html import _table
from wiseflow._pipeline._report._tables import TITLE_CHARS

NS = 'xmlns="http://www.w3.org/2000/svg"'
GOOD = f'<svg {NS} width="40" height="20"><rect width="4" height="4" fill="#123"/></svg>'
HOSTILE_FIGURES = {
    "redos": "<svg><!DOCTYPE " + "[]" * 60,
    "xmldecl": "<?xml" * 100_000,
    "doctypes": "<!DOCTYPE" * 50_000,
    "deep": f"<svg {NS}>" + "<g>" * 5000 + "</g>" * 5000 + "</svg>",
    "wide": f"<svg {NS}>" + "<x/>" * 250_000 + "</svg>",
}

PLUGIN = """
import json
import msgspec
from wiseflow import AnalyzerPlugin, Figure

FIGS = json.loads(@FIGS@)
GOOD = @GOOD@


class Evil(AnalyzerPlugin):
    def analyze(self, batch):
        pass

    def result(self):
        deep_cell = msgspec.Raw(b"\\x91" * 450 + b"\\x01")
        if self.ctx.name == "generic":  # no prepared tables: the generic tables
            deep_dict = {"leaf": 1}
            for _ in range(60):
                deep_dict = {"k" * 20_000: deep_dict}
            return {"nested": deep_dict, "cells": [[deep_cell, "x"]]}
        return {
            "tables": [
                {"title": "ints", "columns": ["a"], "rows": [1, 2, "three"]},
                {"title": "nocols", "columns": None, "rows": [[1, 2], {"a": 3}]},
                # a cell nested 450 deep, sent as raw msgpack (the worker's own encoder
                # is recursive too); the worker still decodes it for render()
                {"title": "deep", "columns": ["c"],
                 "rows": [[deep_cell]]},
            ],
            "cards": [[deep_cell, 1], ["honest card", 7]],
        }

    def render(self, result):
        return [Figure("honest chart", GOOD)] + [Figure(k, v) for k, v in FIGS.items()]
"""

PIPELINE = """\
[pipeline]
name = "dos"

[[sources]]
plugin = "hello"
name = "hi"
config = { count = 3 }

[[analyzers]]
plugin = "evil"
name = "evil"

[[analyzers]]
plugin = "evil"
name = "generic"

[[analyzers]]
plugin = "entities"
name = "ents"
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hostile analyzer's run, reported as HTML, Markdown and JSON (one run each)."""
    root = tmp_path_factory.mktemp("dos")
    folder = root / "plugins" / "evil"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "evil"\nversion = "1.0.0"\nkind = "analyzer"\nentry = "plugin:Evil"\n'
    )
    code = PLUGIN.replace("@FIGS@", repr(json.dumps(HOSTILE_FIGURES))).replace("@GOOD@", repr(GOOD))
    (folder / "plugin.py").write_text(textwrap.dedent(code))
    (root / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n\n[policy]\nlevel = "sandboxed"\n'
    )
    (root / "p.toml").write_text(PIPELINE)
    out: dict[str, Any] = {"root": root}
    for suffix in ("html", "md", "json"):
        # the deadline of wf() (300 s) is the hang detector: before, this never returned
        res = wf("--json", "run", "p.toml", "--full-refresh", "--report", f"r.{suffix}", cwd=root)
        out[f"run.{suffix}"] = res
        out[suffix] = (root / f"r.{suffix}").read_text() if (root / f"r.{suffix}").exists() else ""
    return out


@pytest.mark.parametrize("suffix", ["html", "md", "json"])
def test_the_run_ends_ok_and_writes_its_report(reports: dict[str, Any], suffix: str) -> None:
    """A hostile analyzer neither hangs the host nor turns the run into a failure."""
    res = reports[f"run.{suffix}"]
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    doc = document(res)
    assert doc["status"] == "ok" and doc["errors"] == []
    assert doc["report"] and reports[suffix]
    assert b"Traceback" not in res.stderr


def test_positive_control_the_plugin_did_send_every_payload(reports: dict[str, Any]) -> None:
    """The JSON report holds each hostile figure exactly as the plugin sent it."""
    doc = json.loads(reports["json"])
    figs = {f["title"]: f["body"] for f in doc["figures"]["evil"]}
    assert figs == {"honest chart": GOOD, **HOSTILE_FIGURES}
    nested, depth = doc["analyzers"]["generic"]["nested"], 0
    while "leaf" not in nested:
        nested, depth = nested["k" * 20_000], depth + 1
    assert depth == 60


def test_html_report_shows_the_honest_parts_and_notes_the_hostile_figures(
    reports: dict[str, Any],
) -> None:
    """One image (the honest chart), a note per hostile figure, the tables, the other section."""
    html = reports["html"]
    evil = html.split('<section id="a-evil">', 1)[1].split("</section>", 1)[0]
    assert re.findall(r"<img [^>]*src=\"data:image/svg\+xml;base64,", evil) == [
        '<img alt="honest chart" src="data:image/svg+xml;base64,'
    ]
    assert evil.count("figure could not be shown") == len(HOSTILE_FIGURES)
    for title in ("<h3>ints</h3>", "<h3>nocols</h3>", "<h3>deep</h3>", "<td>three</td>"):
        assert title in evil, title
    generic = html.split('<section id="a-generic">', 1)[1].split("</section>", 1)[0]
    assert "<h3>cells</h3>" in generic and "<td>…</td><td>x</td>" in generic
    assert "<td>leaf</td>" not in generic  # 60 levels down: past MAX_NEST, not shown
    assert "k" * (TITLE_CHARS + 1) not in generic  # titles of nested keys are cut
    assert "honest card" in html
    assert "could not be shown: its result" not in html  # every section rendered
    ents = html.split('<section id="a-ents"><h2>ents</h2>', 1)[1].split("</section>", 1)[0]
    assert "data:image/svg+xml;base64," in ents
    assert len(html) < 4_000_000  # notes carry at most 2,000 characters of a body


def test_markdown_report_shows_the_honest_parts(reports: dict[str, Any]) -> None:
    """The Markdown report has the honest chart as an image and every section."""
    md = reports["md"]
    evil = md.split("## evil", 1)[1].split("## generic", 1)[0]
    assert evil.count("](data:image/svg+xml;base64,") == 1
    assert evil.count(", shown as text)") == len(HOSTILE_FIGURES)
    assert "## ents" in md and "honest card" in md


# -- positive controls: the sanitiser and cell formatter as they were ---------------------


def _old_clean_svg(body: str) -> str | None:
    """The prolog handling and recursive walk the report used before (the protection off)."""
    text = re.sub(r"<\?xml[^>]*\?>", "", body)
    text = re.sub(r"<!DOCTYPE(?:[^>\[]|\[.*?\])*>", "", text, flags=re.IGNORECASE | re.DOTALL)
    if re.search(r"<!\s*(?:DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return None
    try:
        root = ET.fromstring(text.strip())  # noqa: S314 - the old code, for the control
    except ET.ParseError:
        return None

    def walk(el: ET.Element) -> None:
        for child in list(el):
            walk(child)

    walk(root)
    return ET.tostring(root, encoding="unicode")


def _old_fmt(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(_old_fmt(x) for x in v)
    return "" if v is None else str(v)


def test_positive_control_the_old_prolog_scan_does_not_end() -> None:
    """The old regular expressions on the crafted prologs are still running at a deadline
    (exponential: ~2^60 steps; quadratic: ~10^10), where the new scan refuses them at once."""
    from wiseflow._pipeline._report._svg import clean_svg

    payloads = ("redos", "xmldecl", "doctypes")
    assert [clean_svg(HOSTILE_FIGURES[p]) for p in payloads] == [None, None, None]
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_old_clean_svg, args=(HOSTILE_FIGURES[p],), daemon=True)
        for p in payloads
    ]
    for proc in procs:
        proc.start()
    try:
        procs[-1].join(6)  # the three run side by side: one deadline for all
        alive = [p for p, proc in zip(payloads, procs, strict=True) if proc.is_alive()]
        assert alive == list(payloads), "the old sanitiser finished: no longer an attack"
    finally:
        for proc in procs:
            proc.kill()
            proc.join(10)


def test_positive_control_the_old_walk_and_formatter_recurse_too_deep() -> None:
    """The old walk on the deep figure and the old formatter on the deep cell raise
    RecursionError, and a table of rows that are not lists breaks the HTML writer."""
    with pytest.raises(RecursionError):
        _old_clean_svg(HOSTILE_FIGURES["deep"])
    cell: Any = 1
    for _ in range(450):
        cell = [cell]
    with pytest.raises(RecursionError):
        _old_fmt(cell)
    with pytest.raises(TypeError):
        _table(("ints", ["a"], cast(Any, [1, 2])))  # rows that are not lists


@pytest.mark.parametrize("suffix", ["html", "md"])
def test_a_section_that_still_fails_is_a_note_and_the_rest_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Defence in depth: a result the writers cannot render costs its own section only."""
    from wiseflow._pipeline._report import _html, _markdown, render_report
    from wiseflow._pipeline._report._tables import result_tables as real

    def tables(result: dict[str, Any], lead: bool | None = None) -> Any:
        if "boom" in result:
            raise RecursionError("maximum recursion depth exceeded")
        return real(result, lead)

    monkeypatch.setattr(_html, "result_tables", tables)
    monkeypatch.setattr(_markdown, "result_tables", tables)
    results = {"bad": {"boom": 1}, "good": {"total": 4}}
    path = render_report(tmp_path / f"r.{suffix}", "p", {"status": "ok"}, results, {})
    text = path.read_text()
    assert "this section could not be shown" in text and "RecursionError" in text
    assert "total" in text  # the other analyzer's section
