"""The ``trends`` result as charts and tables for the report."""

from __future__ import annotations

from typing import Any

from wiseflow import Figure
from wiseflow.plugins._shared.ranking import LABELS

__all__ = ["figures", "tables"]

_SHOWN = 120  # periods a chart shows (the latest)
_FORECAST_SHOWN = 36  # complete periods shown before a forecast


def figures(result: dict[str, Any]) -> list[Figure | str]:
    """Records per period with bursts and the forecast; CVEs per period stacked by the
    package they were fixed in; the top entities of each kind over time."""
    from wiseflow.plugins._shared.charts import line_chart, stacked_bar_chart

    labels = result.get("labels") or []
    if not labels:
        return []
    period = result["period"]
    recent = max(0, len(labels) - _SHOWN)
    shown = labels[recent:]
    figs: list[Figure | str] = []
    split = result.get("cve_by_package")
    if split:
        stack = {name: s[recent:] for name, s in split["series"].items()}
        stack["other"] = split["other"][recent:]
        figs.append(
            Figure(
                f"CVEs named per {period}, by the package fixing them (top 5 and other)",
                stacked_bar_chart(shown, stack, ylabel="CVE mentions"),
            )
        )
    bursts = [b["period"] for b in result["bursts"]]
    figs.append(
        Figure(
            f"Records per {period} (last {len(shown)}), with bursts",
            line_chart(shown, {"records": result["counts"][recent:]}, marks=bursts),
        )
    )
    fc = result["forecast"]
    pts = fc.get("points", [])
    if pts:
        # zoomed on the fitted window, so the forecast and its interval are legible
        after = fc.get("after")
        end = labels.index(after) + 1 if after in labels else len(labels)
        begin = max(0, end - _FORECAST_SHOWN)
        band = (fc["labels"], [p["value"] for p in pts], [p["low"] for p in pts],
                [p["high"] for p in pts])  # fmt: skip
        figs.append(
            Figure(
                f"Forecast of records per {period} from {fc['labels'][0]} (after the last "
                f"complete {period}), with its 95% interval",
                line_chart(labels[begin:end], {"records": result["counts"][begin:end]}, band=band),
            )
        )
    names = {"package": "Entries per package", "person": "Entries per person"}
    for kind, rows in result["top"].items():
        # a CVE is mentioned a handful of times: its own line is noise (see the chart above)
        if not rows or kind == "cve":
            continue
        lines = {r["name"][:30]: r["series"][recent:] for r in rows[:5]}
        what = names.get(kind, f"Top {LABELS.get(kind, kind)}")
        figs.append(Figure(f"{what} per {period} (top 5)", line_chart(shown, lines)))
    return figs


def tables(
    trend_all: dict[str, Any],
    trend_recent: dict[str, Any],
    window: int,
    found: list[dict[str, Any]],
    fc: dict[str, Any],
    top: dict[str, list[dict[str, Any]]],
    cves: dict[str, Any],
) -> list[dict[str, Any]]:
    out = []
    if "cve_spikes" in cves:
        out.append(
            {
                "title": "CVE spikes (z >= 3 over the trailing baseline) and the packages "
                "behind them",
                "columns": ["period", "CVE mentions", "baseline", "z", "driven by"],
                "rows": [
                    [s["period"], int(s["count"]), s["baseline"], s["z"], _drivers(s)]
                    for s in cves["cve_spikes"][-15:]
                ],
                "lead": True,
            }
        )
    cols = ["series", "periods", "trend", "Mann-Kendall z", "p", "Sen's slope / period"]
    rows = [
        ["records, whole span", trend_all["n"], trend_all["trend"], trend_all["z"],
         _p(trend_all["p"]), trend_all["sen_slope"]],
        [f"records, last {window}", trend_recent["n"], trend_recent["trend"],
         trend_recent["z"], _p(trend_recent["p"]), trend_recent["sen_slope"]],
    ]  # fmt: skip
    out.append(
        {"title": "Trend (Mann-Kendall, complete periods only)", "columns": cols, "rows": rows}
    )
    if fc.get("points"):
        out.append(
            {
                "title": f"Forecast ({fc['method']}), after {fc.get('after', '')}",
                "columns": ["period", "expected", "95% low", "95% high"],
                "rows": [
                    [lab, p["value"], p["low"], p["high"]]
                    for lab, p in zip(fc["labels"], fc["points"], strict=True)
                ],
            }
        )
    out.append(
        {
            "title": "Bursts (z >= 3 over the trailing baseline)",
            "columns": ["period", "records", "baseline", "z"],
            "rows": [[b["period"], int(b["count"]), b["baseline"], b["z"]] for b in found[-15:]],
        }
    )
    titles = {"package": "Most-patched packages over time (entries)"}
    for kind, entries in top.items():
        if kind == "cve":  # named a handful of times each: see the CVE spikes instead
            continue
        out.append(
            {
                "title": titles.get(kind, f"Top {LABELS.get(kind, kind)} over time"),
                "columns": [kind, "records", "recent trend", "p"],
                "rows": [[e["name"], e["total"], e["trend"], _p(e["p"])] for e in entries],
            }
        )
    return out


def _drivers(spike: dict[str, Any]) -> str:
    count = max(float(spike["count"]), 1.0)
    return ", ".join(f"{p} {n} ({n / count:.0%})" for p, n in spike.get("drivers", []))


def _p(p: float) -> str | float:
    """A p-value for people: tiny ones read ``<0.0001`` rather than ``0``."""
    return "<0.0001" if p < 1e-4 else p
