"""The ``trends`` analyzer."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

from wiseflow import AnalyzerPlugin, Figure, PluginContext, Record
from wiseflow.plugins._shared.extract import KINDS, extract
from wiseflow.plugins._shared.ranking import ranked

from ._figures import figures, tables
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
        as_of: the date the series runs to (default: today, UTC). Its period is in
            progress: shown, but left out of the trend test, bursts and forecast fit,
            and the forecast starts with it (after the last complete period).
    """

    period: Annotated[
        Literal["day", "week", "month", "year"],
        msgspec.Meta(description="length of one period: day, week, month or year"),
    ] = "month"
    top: Annotated[int, msgspec.Meta(ge=0, description="entities per kind to chart and test")] = 5
    kinds: Annotated[
        list[str],
        msgspec.Meta(description=f"entity kinds followed over time, of: {', '.join(KINDS)}"),
    ] = msgspec.field(default_factory=lambda: ["cve", "package", "person"])
    since: Annotated[
        str | None, msgspec.Meta(description="ignore records before this ISO date")
    ] = None
    horizon: Annotated[int, msgspec.Meta(ge=0, description="periods to forecast")] = 3
    window: Annotated[
        int,
        msgspec.Meta(ge=1, description="trailing periods used for the forecast and burst baseline"),
    ] = 24
    as_of: Annotated[
        str | None,
        msgspec.Meta(
            description="ISO date the series runs to (default today); its period is in "
            "progress and the forecast starts with it"
        ),
    ] = None


def _date(option: str, value: str | None) -> datetime | None:
    """An ISO date or date-time of the config (UTC unless it says otherwise); WF105 if not."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        from wiseflow import ConfigError

        raise ConfigError(
            f"trends: {option} = {value[:40]!r} is not an ISO date",
            plugin="trends",
            hint=f'write {option} as YYYY-MM-DD, e.g. {option} = "2024-05-01"',
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


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
        # CVEs named per period, per package of the record (who drives a spike)
        self.cve_packages: dict[str, Counter[int]] = {}
        self.since = _date("since", self.config.since)
        now = _date("as_of", self.config.as_of) or datetime.now(UTC)
        self.current = period_index(now, self.config.period)  # the period in progress

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
            cves = sum(1 for e in found if e.startswith("cve:"))
            if cves and isinstance(own, str) and own:
                self.cve_packages.setdefault(own[:200], Counter())[idx] += cves
            for entity in found:
                kind = entity.split(":", 1)[0]
                self.kind_mentions[kind][idx] += 1
                self.totals[entity] += 1
                self.entities.setdefault(entity, Counter())[idx] += 1

    def result(self) -> dict[str, Any]:
        cfg = self.config
        if not self.records:
            return {"period": cfg.period, "records": 0, "undated": self.undated, "labels": []}
        last = self.current - 1  # the last complete period: fit and forecast stop there
        end = max(*self.records, last)
        lo = max(min(self.records), end - _MAX_PERIODS + 1)
        span = range(lo, end + 1)
        labels = [label(i, cfg.period) for i in span]
        counts = [float(self.records.get(i, 0)) for i in span]
        complete = max(0, min(len(span), last - lo + 1))
        fit = counts[:complete]
        mentions = {k: [self.kind_mentions[k].get(i, 0) for i in span] for k in sorted(self.kinds)}
        top: dict[str, list[dict[str, Any]]] = {}
        for kind in sorted(self.kinds):
            top_of_kind = [(e, n) for e, n in ranked(self.totals) if e.startswith(kind + ":")]
            rows = []
            for entity, total in top_of_kind[: cfg.top]:
                series = [float(self.entities[entity].get(i, 0)) for i in span]
                mk = mann_kendall(series[:complete][-cfg.window * 2 :])
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
        trend_all = mann_kendall(fit)
        trend_recent = mann_kendall(fit[-cfg.window :])
        found = bursts(labels[:complete], fit, window=min(cfg.window, 12))
        fc = forecast(fit, horizon=cfg.horizon, window=cfg.window)
        fc["labels"] = [label(last + h, cfg.period) for h in range(1, cfg.horizon + 1)]
        fc["after"] = label(last, cfg.period)
        cves = self._cves(span, complete, labels, mentions.get("cve"))
        return {
            "period": cfg.period,
            "records": int(sum(counts)),
            "undated": self.undated,
            "first": label(min(self.records), cfg.period),
            "last": label(max(self.records), cfg.period),
            "in_progress": label(self.current, cfg.period),
            "labels": labels,
            "counts": [int(c) for c in counts],
            "mentions": mentions,
            "trend": trend_all,
            "trend_recent": trend_recent,
            "bursts": found,
            "forecast": fc,
            "top": top,
            **cves,
            "lead_figures": 1 if cves else 0,
            "tables": tables(trend_all, trend_recent, cfg.window, found, fc, top, cves),
        }

    def _cves(
        self, span: range, complete: int, labels: list[str], total: list[int] | None
    ) -> dict[str, Any]:
        """CVE mentions per period split by the package of the record, and the spikes of
        the CVE series with the packages that drive each one."""
        if not total or not self.cve_packages:
            return {}
        sums = Counter({p: sum(c.values()) for p, c in self.cve_packages.items()})
        names = [p for p, _ in ranked(sums, 5)]
        series = {p: [self.cve_packages[p].get(i, 0) for i in span] for p in names}
        other = [t - sum(series[p][j] for p in names) for j, t in enumerate(total)]
        spikes = bursts(labels[:complete], [float(v) for v in total[:complete]],
                        window=min(self.config.window, 12))  # fmt: skip
        for spike in spikes:
            idx = span[labels.index(spike["period"])]
            here = Counter({p: c[idx] for p, c in self.cve_packages.items() if c.get(idx)})
            spike["drivers"] = [[p, n] for p, n in ranked(here, 3)]
        return {"cve_by_package": {"series": series, "other": other}, "cve_spikes": spikes}

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        return figures(result)
