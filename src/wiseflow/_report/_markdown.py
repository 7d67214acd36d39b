"""The Markdown report: the same sections as the HTML one; charts embedded as data URIs."""

from __future__ import annotations

import base64
from typing import Any

from .._plugin import Figure
from ._tables import Table, fmt, result_tables, summary_tables

__all__ = ["markdown_report"]


def _cell(v: Any) -> str:
    return fmt(v).replace("|", "\\|").replace("\n", " ")


def _table(t: Table, level: str = "###") -> str:
    title, header, rows = t
    lines = [f"{level} {title}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def markdown_report(
    name: str,
    summary: dict[str, Any],
    results: dict[str, dict[str, Any]],
    figures: dict[str, list[Figure | str]],
) -> str:
    rec = summary.get("records", {})
    out = [f"# {name}", ""]
    out.append(
        f"Run {summary.get('run_id')} · status **{summary.get('status')}** · "
        f"{summary.get('started', '')} · {summary.get('seconds', 0)} s"
    )
    out.append("")
    out.append(
        f"- fetched **{rec.get('fetched', 0)}**, stored **{rec.get('stored', 0)}**, "
        f"duplicates {rec.get('duplicates', 0)}, dead letters {rec.get('dead_letters', 0)}"
    )
    out.append("")
    for analyzer, result in results.items():
        out.append(f"## {analyzer}\n")
        for fig in figures.get(analyzer, []):
            if isinstance(fig, Figure) and "<svg" in fig.body[:500]:
                data = base64.b64encode(fig.body.encode()).decode()
                out.append(f"![{fig.title}](data:image/svg+xml;base64,{data})\n")
            elif isinstance(fig, Figure):
                out.append(f"**{fig.title}**\n\n{fig.body}\n")
            else:
                out.append(fig + "\n")
        for t in result_tables(result):
            out.append(_table(t))
    out.append("## Run details\n")
    for t in summary_tables(summary):
        out.append(_table(t))
    return "\n".join(out)
