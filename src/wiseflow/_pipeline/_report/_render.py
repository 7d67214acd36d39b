"""``render_report``: one entry point, the format chosen by the file's extension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from ..._contract._errors import PipelineError
from ..._contract._plugin import Figure
from ._html import html_report
from ._markdown import markdown_report

__all__ = ["render_report"]


def render_report(
    path: str | Path,
    pipeline_name: str,
    summary: dict[str, Any],
    analyzer_results: dict[str, dict[str, Any]],
    figures: dict[str, list[Figure | str]],
) -> Path:
    """Write the report of one run to ``path`` (``.html``, ``.md`` or ``.json``).

    Args:
        path: target file; its suffix selects the format. Parent folders are created.
        pipeline_name: shown as the title.
        summary: the ``run --json`` document (counts, stages, errors).
        analyzer_results: each analyzer's ``result()``, by instance name.
        figures: each analyzer's ``render()`` output, by instance name.

    Returns:
        The path written.

    Raises:
        PipelineError: WF501 for an unsupported extension.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".json"):
        raise PipelineError(
            f"report {p}: unsupported format {suffix or '(none)'}",
            plugin=str(p),
            hint="name the report .html, .md or .json",
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".html", ".htm"):
        text = html_report(pipeline_name, summary, analyzer_results, figures)
    elif suffix == ".md":
        text = markdown_report(pipeline_name, summary, analyzer_results, figures)
    else:
        doc = {
            "pipeline": pipeline_name,
            "summary": summary,
            "analyzers": analyzer_results,
            "figures": {
                name: [
                    f.to_dict() if isinstance(f, Figure) else {"title": "", "body": f} for f in figs
                ]
                for name, figs in figures.items()
            },
        }
        text = msgspec.json.format(msgspec.json.encode(doc), indent=2).decode()
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
    return p
