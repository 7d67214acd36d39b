"""The Markdown report: the same sections as the HTML one; charts as data-URI images.

Plugin text is data here too. Every value is written by :func:`md_text`: one line (so it
cannot start a heading, list or table of its own), HTML escaped as entities, and the
characters that make Markdown structure (emphasis, code, links, images, headings, table
pipes) backslash-escaped, so a plugin cannot add links, HTML or sections. Multi-line
plugin text goes into a code fence longer than any backtick run in it. The only link
targets in the file are the host's own ``data:image/svg+xml`` figures.
"""

from __future__ import annotations

import logging
import re
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

__all__ = ["markdown_report", "md_block", "md_text"]

log = logging.getLogger("wiseflow.report")

# Everything a Markdown or HTML renderer treats as a line break, and other C0/C1 controls.
_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
# Structure inside a line (line starts are always the host's: "#", "| ", "- " or a fence).
_SPECIAL = re.compile(r"([\\`*_\[\]()#|~])")


def md_text(value: Any) -> str:
    """``value`` as inline Markdown that renders as exactly this text, on one line.

    Example:
        ``md_text("[x](javascript:alert(1))")`` is ``\\[x\\]\\(javascript:alert\\(1\\)\\)``.
    """
    text = _CONTROLS.sub("", _BREAKS.sub(" ", str(value))).replace("\t", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def md_block(text: str) -> str:
    """``text`` (several lines) as a fenced code block nothing in it can close."""
    text = _CONTROLS.sub("", _BREAKS.sub("\n", text))  # a control never joins a CR to an LF
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence, *text.split("\n"), fence])


def _cell(v: Any) -> str:
    return md_text(fmt(v)) or " "


def _table(t: Table, level: str = "###") -> str:
    title, header, rows = t
    width = max([len(header), *(len(r) for r in rows)]) or 1
    head = [*header, *([""] * (width - len(header)))]
    lines = [f"{level} {md_text(title)}", "", "| " + " | ".join(_cell(h) for h in head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for row in rows:
        cells = [*row, *([""] * (width - len(row)))]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _figure(fig: Figure | str) -> str:
    if not isinstance(fig, Figure):
        return md_block(fig) + "\n"
    uri = svg_data_uri(fig.body)
    if uri is not None:
        return f"![{md_text(fig.title)}]({uri})\n"
    return (
        f"**{md_text(fig.title)}** ({md_text(NOT_SHOWN)}, shown as text)\n\n{md_block(fig.body)}\n"
    )


def _cards(title: str, cards: list[Card]) -> str:
    return f"- {md_text(title)}: " + ", ".join(f"{md_text(k)} **{_cell(v)}**" for k, v in cards)


def _section(result: dict[str, Any], figs: list[Figure | str]) -> list[str]:
    k = lead_figures(result, len(figs))
    return [
        *(_figure(fig) for fig in figs[:k]),
        *(_table(t) for t in result_tables(result, lead=True)),
        *(_figure(fig) for fig in figs[k:]),
        *(_table(t) for t in result_tables(result, lead=False)),
    ]


def markdown_report(
    name: str,
    summary: dict[str, Any],
    results: dict[str, dict[str, Any]],
    figures: dict[str, list[Figure | str]],
) -> str:
    out = [f"# {md_text(name)}", ""]
    out.append(
        f"Run {md_text(summary.get('run_id'))} · status **{md_text(summary.get('status'))}** · "
        f"{md_text(summary.get('started', ''))} · {md_text(summary.get('seconds', 0))} s"
    )
    out.append("")
    out.append(_cards("This run", run_cards(summary)))
    covered = covered_cards(summary, results)
    if covered:
        out.append(_cards("Data covered", covered))
    out.append("")
    for analyzer, result in results.items():
        out.append(f"## {md_text(analyzer)}\n")
        try:
            out.extend(_section(result, figures.get(analyzer, [])))
        except Exception as exc:  # one plugin's result never costs the operator the report
            log.warning("report: the section of %s could not be shown: %r", analyzer, exc)
            out.append(md_text(unshown(exc)) + "\n")
    out.append("## Run details\n")
    plugins = plugin_table(summary)
    if plugins:
        out.append(_table(plugins))
    behaviour = behaviour_table(summary)  # what the plugins attempted (_behaviour)
    if behaviour is not None:
        out.append(_table(behaviour))
    out.extend(_table(t) for t in summary_tables(summary))
    return "\n".join(out)
