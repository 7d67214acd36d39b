"""Small SVG charts with matplotlib (Agg/SVG backends, no pyplot, thread-safe).

Text stays text in the SVG (``svg.fonttype = none``) so the charts are small and crisp.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

__all__ = ["bar_chart", "line_chart"]

_COLORS = ["#2f6fde", "#e4572e", "#17a398", "#f3a712", "#8e6bbf", "#5b6475", "#c0392b", "#1e8e3e"]


def _figure(width: float, height: float) -> tuple[MplFigure, Axes]:
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasSVG(fig)
    ax = fig.add_subplot(1, 1, 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _svg(fig: MplFigure) -> str:
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def bar_chart(labels: Sequence[str], values: Sequence[float], *, xlabel: str = "records") -> str:
    """Horizontal bar chart (largest on top) as SVG text."""
    height = 0.5 + 0.28 * max(len(labels), 1)
    fig, ax = _figure(6.4, height)
    short = [lab if len(lab) <= 38 else lab[:36] + "…" for lab in labels]
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, list(values), color=_COLORS[0], height=0.7)
    ax.set_yticks(ys, short)
    ax.set_xlabel(xlabel, fontsize=8)
    for y, v in zip(ys, values, strict=True):
        ax.text(v, y, f" {v:,}", va="center", fontsize=7)
    return _svg(fig)


def line_chart(
    x: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    ylabel: str = "records",
    band: tuple[Sequence[str], Sequence[float], Sequence[float], Sequence[float]] | None = None,
    marks: Sequence[str] = (),
) -> str:
    """Line chart of one or more series over period labels, as SVG text.

    Args:
        band: ``(labels, value, low, high)`` of a forecast, drawn dashed with its interval.
        marks: period labels to highlight (bursts).
    """
    fig, ax = _figure(6.8, 2.8)
    index = {label: i for i, label in enumerate(x)}
    for k, (name, values) in enumerate(series.items()):
        marker = "o" if len(values) <= 3 else None  # one or two points draw no visible line
        ax.plot(
            range(len(values)),
            list(values),
            label=name,
            lw=1.4,
            color=_COLORS[k % 8],
            marker=marker,
        )
    if band is not None:
        labels, value, low, high = band
        start = len(x)
        xs = list(range(start, start + len(labels)))
        ax.plot(xs, list(value), ls="--", color=_COLORS[0], lw=1.2, label="forecast")
        ax.fill_between(xs, list(low), list(high), color=_COLORS[0], alpha=0.15, lw=0)
    first = next(iter(series.values()), [])
    for label in marks:
        i = index.get(label)
        if i is not None and i < len(first):
            ax.plot([i], [first[i]], "o", color=_COLORS[1], ms=4)
    ticks = list(range(0, len(x), max(1, len(x) // 8)))
    ax.set_xticks(ticks, [x[i] for i in ticks], rotation=0)
    ax.set_ylabel(ylabel, fontsize=8)
    if len(series) > 1 or band is not None:
        ax.legend(fontsize=7, frameon=False)
    return _svg(fig)
