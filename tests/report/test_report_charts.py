"""The report's charts and periods: text size, integer count axes, period labels that do
not overlap, legends for bursts and the forecast band, forecasts after the last complete
period, and CVE spikes that name the packages behind them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from wiseflow import ConfigError, Record
from wiseflow._pipeline import local_stage
from wiseflow.plugins._shared.charts import (
    FONT,
    bar_chart,
    line_chart,
    period_ticks,
    stacked_bar_chart,
)

_SIZE = re.compile(r"font(?:-size)?:\s*(?:[a-z]+\s+)*([0-9.]+)px")


def _texts(svg: str) -> list[tuple[float, str]]:
    """(font size, text) of every text element of a matplotlib SVG."""
    out = []
    for el in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"):
        m = _SIZE.search(el.get("style", ""))
        assert m is not None, el.attrib
        out.append((float(m.group(1)), "".join(el.itertext())))
    return out


def _months(n: int, start: int = 2015 * 12) -> list[str]:
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(start, start + n)]


def test_chart_text_is_at_least_12_units_and_count_axes_are_integers() -> None:
    """Every text of every chart kind is >= 12; small counts get no 0.5 ticks."""
    x = _months(30)
    charts = [
        bar_chart(["a", "b", "c"], [1, 2, 3]),
        line_chart(x, {"records": [i % 3 for i in range(30)]}, marks=[x[4]],
                   band=(["2017-07"], [1.0], [0.0], [2.5])),
        stacked_bar_chart(x, {"linux": [1] * 30, "other": [2] * 30}),
    ]  # fmt: skip
    for svg in charts:
        texts = _texts(svg)
        assert texts and min(size for size, _ in texts) >= FONT == 12
        numbers = [t for _, t in texts if re.fullmatch(r"[\d.,−-]+", t.strip())]
        assert numbers, "the count axis has tick labels"
        assert not [t for t in numbers if "." in t], numbers  # integer ticks only


def test_period_labels_never_overlap_and_months_land_on_january() -> None:
    """400 daily labels or 360 months: the shown labels fit the axis width side by side."""
    days = [(date(2024, 1, 1) + timedelta(days=i)).isoformat() for i in range(400)]
    for labels in (days, _months(360), _months(5)):
        ticks = period_ticks(labels, 10.0)
        width = max(len(labels[i]) for i in ticks) * FONT * 0.62  # points per label
        assert len(ticks) * width < 10.0 * 72 * 0.85  # they fit the drawing area
        assert ticks[0] >= 0 and all(b > a for a, b in zip(ticks, ticks[1:], strict=False))
    months = _months(360, start=2015 * 12 + 4)  # starting in May
    ticks = period_ticks(months)
    assert all(months[i].endswith("-01") for i in ticks)
    assert period_ticks(_months(5)) == [0, 1, 2, 3, 4]


def test_legends_name_bursts_and_the_forecast_band() -> None:
    """Bursts and the forecast's interval are in the legend; the band is drawn opaque
    enough to see (alpha >= 0.3)."""
    x = _months(30)
    band = (["2017-07", "2017-08"], [5.0, 6.0], [1.0, 2.0], [9.0, 10.0])
    svg = line_chart(x, {"records": [5] * 30}, marks=[x[10]], band=band)
    legend = [t for _, t in _texts(svg)]
    assert "burst (z ≥ 3)" in legend and "forecast, 95% interval" in legend
    assert "forecast" in legend
    opacities = [float(v) for v in re.findall(r"fill-opacity:\s*([0-9.]+)", svg)]
    assert opacities and max(opacities) >= 0.3


def _records(months: dict[str, list[tuple[str, int]]]) -> list[Record]:
    """Records per month: ``{"2024-03": [(package, cves), ...]}``, dated the 10th."""
    out = []
    n = 0
    for month, entries in months.items():
        y, m = map(int, month.split("-"))
        for package, cves in entries:
            n += 1
            text = " ".join(f"CVE-{y}-{1000 + n * 10 + k}" for k in range(cves)) or "release"
            out.append(Record(id=str(n), source="s", time=datetime(y, m, 10, tzinfo=UTC),
                              text=text, data={"package": package}))  # fmt: skip
    return out


def test_forecast_starts_after_the_last_complete_period(tmp_path: Path) -> None:
    """Data ending in May, read on 15 August: the series runs to July (zeros after May),
    the fit leaves August (in progress) out, and the forecast is August to October."""
    months = {f"2023-{m:02d}": [("pkg", 0)] * (m % 4 + 1) for m in range(1, 13)}
    months |= {"2024-05": [("pkg", 0)] * 3, "2024-08": [("pkg", 0)] * 2}
    stage = local_stage("trends", config={"as_of": "2024-08-15"}, data_dir=tmp_path)
    stage.analyze(_records(months))
    result = stage.result()
    stage.close()
    assert result["labels"][-1] == "2024-08"  # the month in progress is shown...
    assert result["in_progress"] == "2024-08"
    assert result["counts"][-3:] == [0, 0, 2]  # ...June and July are zeros, not gaps
    complete = len(result["labels"]) - 1
    assert result["trend"]["n"] == complete  # ...but not tested or fitted
    assert result["forecast"]["after"] == "2024-07"
    assert result["forecast"]["labels"] == ["2024-08", "2024-09", "2024-10"]
    forecast = next(t for t in result["tables"] if t["title"].startswith("Forecast"))
    assert [r[0] for r in forecast["rows"]] == ["2024-08", "2024-09", "2024-10"]


def test_cve_spikes_name_the_packages_behind_them(tmp_path: Path) -> None:
    """A month where linux fixes 12 CVEs over a quiet year is a spike driven by linux,
    and the CVE chart stacks linux apart from the rest."""
    months = {f"2023-{m:02d}": [("curl", 1)] for m in range(1, 13)}
    months["2024-01"] = [("linux", 12), ("curl", 1)]
    stage = local_stage("trends", config={"as_of": "2024-02-01"}, data_dir=tmp_path)
    stage.analyze(_records(months))
    result = stage.result()
    figures = stage.render(result)
    stage.close()
    (spike,) = result["cve_spikes"]
    assert spike["period"] == "2024-01" and spike["count"] == 13
    assert spike["drivers"] == [["linux", 12], ["curl", 1]]
    series = result["cve_by_package"]["series"]
    assert series["linux"][-1] == 12 and series["curl"][-1] == 1
    assert result["lead_figures"] == 1
    assert figures[0].title.startswith("CVEs named per month, by the package")
    lead = [t for t in result["tables"] if t.get("lead")]
    assert lead and lead[0]["rows"][0][-1] == "linux 12 (92%), curl 1 (8%)"


def test_a_date_that_is_not_iso_is_a_config_error(tmp_path: Path) -> None:
    """as_of (and since) must be ISO dates: WF105 naming the option, with a hint."""
    for option in ("as_of", "since"):
        with pytest.raises(ConfigError) as info:
            local_stage("trends", config={option: "next tuesday"}, data_dir=tmp_path)
        assert info.value.code == "WF105"
        assert f"{option} = 'next tuesday' is not an ISO date" in info.value.message
        assert "YYYY-MM-DD" in (info.value.hint or "")
