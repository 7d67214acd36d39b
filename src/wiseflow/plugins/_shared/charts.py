"""Small SVG charts with matplotlib (Agg/SVG backends, no pyplot, thread-safe).

Text stays text in the SVG (``svg.fonttype = none``) so the charts are small and crisp.
Every text is at least :data:`FONT` SVG units (points) high: a report shows a chart at
no less than ~0.75 of its own size, so chart text reads at 12 px or more. Count axes have
integer ticks only; period labels on the x axis are thinned so they never overlap.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

__all__ = ["FONT", "bar_chart", "line_chart", "period_ticks", "stacked_bar_chart"]

FONT = 12.0
"""The smallest font size (SVG units) in a chart."""
_COLORS = ["#2f6fde", "#e4572e", "#17a398", "#f3a712", "#8e6bbf", "#5b6475", "#c0392b", "#1e8e3e"]
_OTHER = "#b8c0cc"
_BAND = "#f3a712"
_WIDE = 10.0  # inches: time series are drawn wide, shown one per row


def _figure(width: float, height: float) -> tuple[MplFigure, Axes]:
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["font.size"] = FONT
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasSVG(fig)
    ax = fig.add_subplot(1, 1, 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=FONT)
    return fig, ax


def _svg(fig: MplFigure) -> str:
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def _integer_axis(ax: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import MaxNLocator

    # a horizontal count axis gets fewer ticks: "1,200 1,600 2,000" would touch
    locator = MaxNLocator(nbins=5 if axis == "x" else "auto", integer=True, min_n_ticks=1)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(locator)
    if axis == "y":
        ax.set_ylim(bottom=0)


def period_ticks(labels: Sequence[str], width_in: float = _WIDE) -> list[int]:
    """Indices of ``labels`` to show on an x axis ``width_in`` inches wide, never overlapping.

    Each label gets its width at :data:`FONT` plus a gap. Monthly labels (``2024-05``)
    step by whole quarters or years and land on January when the step is a year or more.
    """
    n = len(labels)
    if n == 0:
        return []
    longest = max(len(s) for s in labels)
    slot = longest * FONT * 0.62 + FONT * 1.5  # points per label, with a gap
    fits = max(1, int(width_in * 72 * 0.85 // slot))
    step = max(1, -(-n // fits))
    monthly = all(len(s) == 7 and s[4] == "-" for s in labels)
    if monthly and step > 1:
        step = next(s for s in (2, 3, 6, 12, 24, 36, 60, 120, 240, 600, 1200) if s >= step)
        if step >= 12:
            first = next((i for i, s in enumerate(labels) if s.endswith("-01")), 0)
            return list(range(first % step, n, step))
    return list(range(0, n, step))


def _period_axis(ax: Axes, x: Sequence[str], width_in: float) -> None:
    ticks = period_ticks(x, width_in)
    ax.set_xticks(ticks, [x[i] for i in ticks], rotation=0)
    ax.set_xlim(-0.7, len(x) - 0.3)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, xlabel: str = "records") -> str:
    """Horizontal bar chart (largest on top) as SVG text; counts on an integer axis."""
    height = 0.9 + 0.34 * max(len(labels), 1)
    fig, ax = _figure(6.4, height)
    short = [lab if len(lab) <= 30 else lab[:28] + "…" for lab in labels]
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, list(values), color=_COLORS[0], height=0.7)
    ax.set_yticks(ys, short)
    ax.set_xlabel(xlabel, fontsize=FONT)
    top = max([float(v) for v in values] or [1.0])
    ax.set_xlim(0, top * 1.18 or 1)  # room for the value printed after the longest bar
    _integer_axis(ax, "x")
    for y, v in zip(ys, values, strict=True):
        ax.text(v, y, f" {v:,}", va="center", fontsize=FONT)
    return _svg(fig)


def line_chart(
    x: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    ylabel: str = "records",
    band: tuple[Sequence[str], Sequence[float], Sequence[float], Sequence[float]] | None = None,
    band_start: int | None = None,
    marks: Sequence[str] = (),
    mark_label: str = "burst (z ≥ 3)",
) -> str:
    """Line chart of one or more series over period labels, as SVG text.

    Args:
        band: ``(labels, value, low, high)`` of a forecast: a dashed line in a shaded
            95% interval, both in the legend.
        band_start: the x position of the band's first period (default: after ``x``).
        marks: period labels to highlight (bursts), in the legend as ``mark_label``.
    """
    labels = list(x)
    if band is not None:
        start = len(labels) if band_start is None else band_start
        extra = [lab for lab in band[0] if lab not in labels[start:]]
        labels += extra  # the forecast's own periods get their labels on the axis
    fig, ax = _figure(_WIDE, 3.6)
    index = {label: i for i, label in enumerate(x)}
    for k, (name, values) in enumerate(series.items()):
        marker = "o" if len(values) <= 3 else None  # one or two points draw no visible line
        ax.plot(range(len(values)), list(values), label=name, lw=1.6, color=_COLORS[k % 8],
                marker=marker)  # fmt: skip
    if band is not None:
        names, value, low, high = band
        start = len(x) if band_start is None else band_start
        xs = list(range(start, start + len(names)))
        ax.fill_between(xs, list(low), list(high), color=_BAND, alpha=0.35, lw=0,
                        label="forecast, 95% interval")  # fmt: skip
        ax.plot(xs, list(value), ls="--", color="#b5651d", lw=2, marker="o", ms=4,
                label="forecast")  # fmt: skip
    first = next(iter(series.values()), [])
    hits = [index[m] for m in marks if m in index and index[m] < len(first)]
    if hits:
        ax.plot(hits, [first[i] for i in hits], "o", color=_COLORS[6], ms=7, mfc="none",
                mew=2, label=mark_label)  # fmt: skip
    _period_axis(ax, labels, _WIDE)
    _integer_axis(ax)
    ax.set_ylabel(ylabel, fontsize=FONT)
    if len(series) > 1 or band is not None or hits:
        ax.legend(fontsize=FONT, frameon=False, loc="upper left")
    return _svg(fig)


def stacked_bar_chart(
    x: Sequence[str], series: dict[str, Sequence[float]], *, ylabel: str = "records"
) -> str:
    """Bars per period stacked by series (in order; a series named ``other`` in grey)."""
    fig, ax = _figure(_WIDE, 3.8)
    bottom = [0.0] * len(x)
    for k, (name, values) in enumerate(series.items()):
        color = _OTHER if name == "other" else _COLORS[k % 8]
        ax.bar(range(len(x)), list(values), bottom=list(bottom), width=0.85, color=color,
               label=name, lw=0)  # fmt: skip
        bottom = [b + float(v) for b, v in zip(bottom, values, strict=True)]
    _period_axis(ax, x, _WIDE)
    _integer_axis(ax)
    ax.set_ylabel(ylabel, fontsize=FONT)
    if series:
        ax.legend(fontsize=FONT, frameon=False, loc="upper left", ncols=min(3, len(series)))
    return _svg(fig)
