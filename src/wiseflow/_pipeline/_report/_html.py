"""The HTML report: one self-contained page (the host's CSS, figures as data-URI images).

What a plugin controls (figures, result tables, names, error texts) is data on this page,
never markup: text is escaped, SVG is an ``<img>`` of a ``data:`` URI (see ``_svg``), and a
Content-Security-Policy allows only the host's own stylesheet (by hash) and ``data:``
images, so anything that slipped through could neither run nor fetch.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from html import escape
from typing import Any

from ..._contract._plugin import Figure
from ._behaviour import behaviour_table
from ._svg import NOT_SHOWN, svg_data_uri
from ._tables import (
    Card,
    Table,
    covered_cards,
    fmt,
    lead_figures,
    plugin_table,
    result_tables,
    run_cards,
    summary_tables,
    unshown,
)

__all__ = ["html_report"]

log = logging.getLogger("wiseflow.report")

_CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e7ee;--bg:#f6f8fb;--card:#fff;--accent:#2f6fde;
--bad:#c0392b;--ok:#1e8e3e}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header{background:#17203a;color:#fff;padding:28px 40px}
header h1{margin:0 0 4px;font-size:26px}
header p{margin:0;color:#b8c2d9}
main{max-width:1280px;margin:0 auto;padding:24px 40px 60px}
nav{margin:0 0 18px;font-size:14px}
nav a{color:var(--accent);margin-right:14px;text-decoration:none}
.groups{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px;
margin:0 0 24px}
.groups h2{font-size:15px;margin:0 0 8px;color:#2b3447}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card b{display:block;font-size:24px;white-space:nowrap}
.card b.t{font-size:17px;line-height:35px}
.card span{color:var(--muted);font-size:13px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 24px;
margin:0 0 22px}
section h2{margin:0 0 12px;font-size:20px}
h3{font-size:15px;margin:18px 0 8px;color:#2b3447}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;
margin-bottom:8px}
figure.wide{grid-column:1/-1}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:10px;background:#fff}
figure img{display:block;width:100%;height:auto;margin:0 auto}
figcaption{font-size:13px;color:var(--muted);margin-bottom:6px;font-weight:600}
.tables{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:8px 22px}
.figs+.tables,.tables+.figs{margin-top:18px}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;background:#fafbfd}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.wide{grid-column:1/-1}
.status-ok{color:var(--ok)}.status-failed{color:var(--bad)}
.note{white-space:pre-wrap;font:13px/1.4 ui-monospace,monospace;margin:0}
.empty{color:var(--muted);font-style:italic;margin:0 0 8px}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:30px}
"""
# No scripts, frames, fonts, fetches or other styles: only this stylesheet and data: images.
CSP = (
    "default-src 'none'; img-src data:; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'"
)


def _table(t: Table) -> str:
    title, header, rows = t
    if not rows:
        return f'<div class="tbl"><h3>{escape(title)}</h3><p class="empty">none</p></div>'
    wide = " wide" if len(header) > 2 else ""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for c in row:
            cls = ' class="n"' if isinstance(c, int | float) and not isinstance(c, bool) else ""
            cells.append(f"<td{cls}>{escape(fmt(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="tbl{wide}"><h3>{escape(title)}</h3><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _figure(fig: Figure | str) -> str:
    # Plugins may be untrusted: SVG becomes an image, never markup; anything else is text.
    if not isinstance(fig, Figure):
        return f"<figure><pre class='note'>{escape(fig)}</pre></figure>"
    caption = f"<figcaption>{escape(fig.title)}</figcaption>"
    uri = svg_data_uri(fig.body)
    if uri is None:
        note = f"<p class='empty'>figure could not be shown: {escape(NOT_SHOWN)}</p>"
        return f"<figure>{caption}{note}<pre class='note'>{escape(fig.body[:2000])}</pre></figure>"
    # A time series drawn wide gets a row of its own, so its text is not shrunk below 12 px.
    wide = _svg_width(uri) >= 600
    cls = ' class="wide"' if wide else ""
    return f'<figure{cls}>{caption}<img alt="{escape(fig.title)}" src="{uri}"></figure>'


def _svg_width(uri: str) -> float:
    """The width (points) a cleaned SVG declares, 0 if none: only a number is read."""
    head = base64.b64decode(uri.split(",", 1)[1][:400])[:300].decode("utf-8", "replace")
    m = re.match(r'<svg[^>]*?\swidth="([0-9.]{1,9})pt"', head)
    return float(m.group(1)) if m else 0.0


def _long(value: str) -> str:
    """A smaller font for a card value longer than a number (a date), so it fits."""
    return " class='t'" if len(value) > 7 else ""


def _cards(title: str, cards: list[Card]) -> str:
    if not cards:
        return ""
    body = "".join(
        f"<div class='card'><b{_long(fmt(v))}>{escape(fmt(v))}</b><span>{escape(k)}</span></div>"
        for k, v in cards
    )
    return f"<div><h2>{escape(title)}</h2><div class='cards'>{body}</div></div>"


def _slug(name: str) -> str:
    # "a-" keeps analyzer anchors apart from the host's own ("#run")
    return "a-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "section")


def _section(result: dict[str, Any], figures: list[Figure | str]) -> str:
    # the answers first: lead figures and tables, then the rest
    figs = [_figure(f) for f in figures]
    k = lead_figures(result, len(figs))
    parts = [
        ("figs", "".join(figs[:k])),
        ("tables", "".join(_table(t) for t in result_tables(result, lead=True))),
        ("figs", "".join(figs[k:])),
        ("tables", "".join(_table(t) for t in result_tables(result, lead=False))),
    ]
    return "".join(f'<div class="{cls}">{body}</div>' for cls, body in parts if body)


def html_report(
    name: str,
    summary: dict[str, Any],
    results: dict[str, dict[str, Any]],
    figures: dict[str, list[Figure | str]],
) -> str:
    status = str(summary.get("status", ""))
    card_html = _cards("This run", run_cards(summary)) + _cards(
        "Data covered", covered_cards(summary, results)
    )
    nav = "".join(f'<a href="#{_slug(a)}">{escape(a)}</a>' for a in results)
    sections = []
    for analyzer, result in results.items():
        try:
            body = _section(result, figures.get(analyzer, []))
        except Exception as exc:  # one plugin's result never costs the operator the report
            log.warning("report: the section of %s could not be shown: %r", analyzer, exc)
            body = f"<p class='empty'>{escape(unshown(exc))}</p>"
        sections.append(
            f'<section id="{_slug(analyzer)}"><h2>{escape(analyzer)}</h2>{body}</section>'
        )
    run_tables = "".join(_table(t) for t in summary_tables(summary))
    plugins = plugin_table(summary)
    plugin_html = (
        "<section id='plugins'><h2>Plugins and their resources</h2><div class='tables'>"
        f"{_table(plugins)}{_behaviour_html(summary)}</div></section>"
        if plugins
        else ""
    )
    subtitle = (
        f"run {escape(str(summary.get('run_id', '')))} · "
        f"<span class='status-{escape(status)}'>{escape(status)}</span> · "
        f"started {escape(str(summary.get('started', '')))}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(name)} — wiseflow report</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(name)}</h1><p>{subtitle}</p></header><main>"
        f"<nav>{nav}<a href='#plugins'>plugins</a><a href='#run'>run details</a></nav>"
        f"<div class='groups'>{card_html}</div>"
        + "".join(sections)
        + plugin_html
        + f"<section id='run'><h2>Run details</h2><div class='tables'>{run_tables}</div></section>"
        "<footer>generated by wiseflow</footer></main></body></html>"
    )


def _behaviour_html(summary: dict[str, Any]) -> str:
    """The plugins' runtime behaviour table (``_behaviour``), when any was reported."""
    table = behaviour_table(summary)
    return _table(table) if table is not None else ""
