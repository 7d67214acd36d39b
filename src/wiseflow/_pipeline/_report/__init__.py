"""Reports: a run's summary and analyzer results as HTML, Markdown or JSON."""

from __future__ import annotations

from ._render import render_report

__all__ = ["render_report"]
