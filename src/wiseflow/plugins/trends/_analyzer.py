"""The ``trends`` analyzer."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

import msgspec

from wiseflow import AnalyzerPlugin, Figure, PluginContext, Record
from wiseflow.plugins._shared.extract import KINDS, extract
from wiseflow.plugins._shared.ranking import LABELS, ranked

from ._periods import label, period_index
from .stats import bursts, forecast, mann_kendall

__all__ = ["TrendsAnalyzer"]

_MAX_PERIODS = 5000  # a day series over ~14 years; longer spans keep the latest periods


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``trends``.

    Attributes:
        period: ``"day"``, ``"week"``, ``"month"`` (default) or ``"year"``.
        top: entities per kind to chart and test (default 5).
        kinds: entity kinds followed over time (default cve, package, person). A record
            with ``data.package`` counts for that package alone (entries per package, i.e.
            the most-patched packages for changelogs); ``person`` is the record's author.
        since: ignore records before this ISO date (default: keep all).
        horizon: periods to forecast (default 3).
        window: trailing periods used for the forecast and burst baseline (default 24).
    """

    period: Annotated[
        Literal["day", "week", "month", "year"],
        msgspec.Meta(description="length of one period: day, week, month or year"),
    ] = "month"
    top: Annotated[int, msgspec.Meta(description="entities per kind to chart and test")] = 5
    kinds: Annotated[
        list[str],
        msgspec.Meta(description=f"entity kinds followed over time, of: {', '.join(KINDS)}"),
    ] = msgspec.field(default_factory=lambda: ["cve", "package", "person"])
    since: Annotated[
        str | None, msgspec.Meta(description="ignore records before this ISO date")
    ] = None
    horizon: Annotated[int, msgspec.Meta(description="periods to forecast")] = 3
    window: Annotated[
        int, msgspec.Meta(description="trailing periods used for the forecast and burst baseline")
    ] = 24


class TrendsAnalyzer(AnalyzerPlugin):
    """Counts records and entities per period; tests trends, finds bursts, forecasts."""

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        bad = set(self.config.kinds) - set(KINDS)
        if bad:
            import difflib

            from wiseflow import ConfigError

            close = sorted({m for b in bad for m in difflib.get_close_matches(b, KINDS, n=1)})
            maybe = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ConfigError(
                f"trends: unknown kind(s) {sorted(bad)}{maybe} (known: {', '.join(KINDS)})",
                plugin="trends",
            )
        self.kinds = frozenset(self.config.kinds)
        self.records: Counter[int] = Counter()
        self.kind_mentions: dict[str, Counter[int]] = {k: Counter() for k in self.kinds}
        self.entities: dict[str, Counter[int]] = {}
        self.totals: Counter[str] = Counter()
        self.undated = 0
        self.since = None
        if self.config.since:
            from datetime import UTC, datetime

            self.since = datetime.fromisoformat(self.config.since).replace(tzinfo=UTC)

    def analyze(self, batch: list[Record]) -> None:
        period = self.config.period
        for record in batch:
            t = record.time
            if t is None:
                self.undated += 1
                continue
            if self.since is not None and t < self.since:
                continue
            idx = period_index(t, period)
            self.records[idx] += 1
            found = extract(record, self.kinds)
            own = record.data.get("package")
            if "package" in self.kinds and isinstance(own, str) and own:
                # A record about a package (a changelog entry) counts for that package
                # only: "most-patched", not every package its text mentions.
                found = {e for e in found if not e.startswith("package:")}
                found.add(f"package:{own}")
            for entity in found:
                kind = entity.split(":", 1)[0]
                self.kind_mentions[kind][idx] += 1
                self.totals[entity] += 1
                self.entities.setdefault(entity, Counter())[idx] += 1

    def result(self) -> dict[str, Any]:
        cfg = self.config
        if not self.records:
            return {"period": cfg.period, "records": 0, "undated": self.undated, "labels": []}
        lo, hi = min(self.records), max(self.records)
        lo = max(lo, hi - _MAX_PERIODS + 1)
        span = range(lo, hi + 1)
        labels = [label(i, cfg.period) for i in span]
        counts = [float(self.records.get(i, 0)) for i in span]
        mentions = {k: [self.kind_mentions[k].get(i, 0) for i in span] for k in sorted(self.kinds)}
        top: dict[str, list[dict[str, Any]]] = {}
        for kind in sorted(self.kinds):
            top_of_kind = [(e, n) for e, n in ranked(self.totals) if e.startswith(kind + ":")]
            rows = []
            for entity, total in top_of_kind[: cfg.top]:
                series = [float(self.entities[entity].get(i, 0)) for i in span]
                mk = mann_kendall(series[-cfg.window * 2 :])
                rows.append(
                    {
                        "name": entity.split(":", 1)[1],
                        "total": total,
                        "trend": mk["trend"],
                        "p": mk["p"],
                        "series": [int(v) for v in series],
                    }
                )
            top[kind] = rows
        trend_all = mann_kendall(counts)
        trend_recent = mann_kendall(counts[-cfg.window :])
        found = bursts(labels, counts, window=min(cfg.window, 12))
        fc = forecast(counts, horizon=cfg.horizon, window=cfg.window)
        fc["labels"] = [label(hi + h, cfg.period) for h in range(1, cfg.horizon + 1)]
        return {
            "period": cfg.period,
            "records": int(sum(counts)),
            "undated": self.undated,
            "first": labels[0],
            "last": labels[-1],
            "labels": labels,
            "counts": [int(c) for c in counts],
            "mentions": mentions,
            "trend": trend_all,
            "trend_recent": trend_recent,
            "bursts": found,
            "forecast": fc,
            "top": top,
            "tables": _tables(trend_all, trend_recent, cfg.window, found, fc, top),
        }

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        from wiseflow.plugins._shared.charts import line_chart

        labels = result.get("labels") or []
        if not labels:
            return []
        period = result["period"]
        fc = result["forecast"]
        pts = fc.get("points", [])
        band = None
        recent = max(0, len(labels) - 120)
        if pts:
            band = (
                fc["labels"],
                [p["value"] for p in pts],
                [p["low"] for p in pts],
                [p["high"] for p in pts],
            )
        figs: list[Figure | str] = [
            Figure(
                f"Records per {period} (last {len(labels) - recent}), forecast and bursts",
                line_chart(
                    labels[recent:],
                    {"records": result["counts"][recent:]},
                    band=band,
                    marks=[b["period"] for b in result["bursts"]],
                ),
            )
        ]
        for kind, series in result["mentions"].items():
            if sum(series) and kind == "cve":
                figs.append(
                    Figure(
                        f"CVE mentions per {period}",
                        line_chart(labels[recent:], {"CVE mentions": series[recent:]}),
                    )
                )
        for kind, rows in result["top"].items():
            # a CVE is mentioned a handful of times: its own line is noise (see the chart above)
            if not rows or kind == "cve":
                continue
            lines = {r["name"][:30]: r["series"][recent:] for r in rows[:5]}
            figs.append(
                Figure(
                    f"Top {LABELS.get(kind, kind)} per {period}",
                    line_chart(labels[recent:], lines),
                )
            )
        return figs


def _tables(
    trend_all: dict[str, Any],
    trend_recent: dict[str, Any],
    window: int,
    found: list[dict[str, Any]],
    fc: dict[str, Any],
    top: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    cols = ["series", "periods", "trend", "Mann-Kendall z", "p", "Sen's slope / period"]
    rows = [
        ["records, whole span", trend_all["n"], trend_all["trend"], trend_all["z"],
         _p(trend_all["p"]), trend_all["sen_slope"]],
        [f"records, last {window}", trend_recent["n"], trend_recent["trend"],
         trend_recent["z"], _p(trend_recent["p"]), trend_recent["sen_slope"]],
    ]  # fmt: skip
    out = [{"title": "Trend (Mann-Kendall, normal approximation)", "columns": cols, "rows": rows}]
    if fc.get("points"):
        out.append(
            {
                "title": f"Forecast ({fc['method']})",
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
            "rows": [[b["period"], b["count"], b["baseline"], b["z"]] for b in found[-15:]],
        }
    )
    for kind, entries in top.items():
        out.append(
            {
                "title": f"Top {LABELS.get(kind, kind)} over time",
                "columns": [kind, "records", "recent trend", "p"],
                "rows": [[e["name"], e["total"], e["trend"], _p(e["p"])] for e in entries],
            }
        )
    return out


def _p(p: float) -> str | float:
    """A p-value for people: tiny ones read ``<0.0001`` rather than ``0``."""
    return "<0.0001" if p < 1e-4 else p
