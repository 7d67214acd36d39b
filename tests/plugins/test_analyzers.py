"""entities and trends: extraction, ranks, co-occurrence, statistics, figures."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wiseflow import Figure, Record
from wiseflow._pipeline import local_stage
from wiseflow.plugins.entities import extract
from wiseflow.plugins.trends.stats import bursts, forecast, mann_kendall

PIPE = """
[pipeline]
name = "deb"
batch_size = 40
[[sources]]
plugin = "debian-changelog"
config = {{ root = "{root}" }}
[[processors]]
plugin = "text"
[[analyzers]]
plugin = "entities"
config = {{ top = 5 }}
[[analyzers]]
plugin = "trends"
config = {{ period = "month" }}
"""


def test_extract_finds_every_kind() -> None:
    """CVE ids, packages, versions, people, e-mail and URL domains and issue refs are found."""
    r = Record(
        id="1",
        source="s",
        author="Alice",
        text=(
            "* Fix CVE-2024-1234 and cve-2023-99999. Closes: #1024598, #1024602. LP: #55\n"
            "* Build-depend on libssl-dev (3.0.11-1). See https://www.openwall.com/x and #77.\n"
            "* Thanks bob@lists.debian.org"
        ),
        data={"package": "openssl", "version": "3.0.11-1", "email": "alice@debian.org"},
    )
    found = extract(r)
    assert {"cve:CVE-2024-1234", "cve:CVE-2023-99999"} <= found
    assert {"package:openssl", "package:libssl-dev", "version:libssl-dev 3.0.11-1"} <= found
    assert "person:Alice" in found
    assert {"email_domain:debian.org", "email_domain:lists.debian.org"} <= found
    assert "domain:openwall.com" in found
    assert {"issue:debian#1024598", "issue:debian#1024602", "issue:lp#55", "issue:#77"} <= found
    assert "issue:#1024598" not in found


def test_pipeline_results_rank_entities_and_trends(changelogs: tuple[Path, int], run: Any) -> None:
    """Over the generated changelogs, analyzers rank people and CVEs and test the trend."""
    root, expected = changelogs
    summary, _ = run(PIPE.format(root=root), report="")
    ents = summary.analyzers["entities"]
    assert ents["records"] == expected
    people = dict(ents["kinds"]["person"]["top"])
    assert sum(people.values()) == expected
    assert ents["kinds"]["cve"]["distinct"] > 0
    assert ents["cooccurrence"]["edges"]
    trends = summary.analyzers["trends"]
    assert trends["records"] == expected
    assert len(trends["labels"]) == len(trends["counts"])
    assert trends["trend"]["trend"] in ("increasing", "decreasing", "no trend")
    assert 0 <= trends["trend"]["p"] <= 1
    assert len(trends["forecast"]["points"]) == 3


def test_mann_kendall_detects_trends_and_their_absence() -> None:
    """A rising series is 'increasing' with a small p; a shuffled flat one is not."""
    rng = random.Random(1)
    rising = [i + rng.gauss(0, 2) for i in range(40)]
    mk = mann_kendall(rising)
    assert mk["trend"] == "increasing"
    assert mk["p"] < 0.001
    assert 0.7 < mk["sen_slope"] < 1.3
    flat = [rng.gauss(10, 1) for _ in range(40)]
    assert mann_kendall(flat)["p"] > 0.01
    # known value: S for 1..n is n(n-1)/2, z = (S-1)/sqrt(var)
    n = 10
    s = n * (n - 1) // 2
    z = (s - 1) / math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    assert mann_kendall(list(range(n)))["z"] == round(z, 3)


def test_bursts_and_forecast_interval() -> None:
    """A spike over a flat baseline is a burst; the forecast interval contains the trend."""
    values = [5.0] * 20 + [40.0] + [5.0] * 5
    labels = [f"p{i}" for i in range(len(values))]
    (b,) = bursts(labels, values, window=12)
    assert b["period"] == "p20"
    fc = forecast([float(i) for i in range(24)], horizon=2)
    p1 = fc["points"][0]
    assert p1["low"] <= 24 <= p1["high"]
    assert abs(p1["value"] - 24) < 1e-6


def test_render_gives_svg_figures(tmp_path: Path) -> None:
    """Both analyzers render their results as inline SVG figures."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    batch = [
        Record(id=str(i), source="s", time=start + timedelta(days=9 * i), author=f"p{i % 3}",
               text=f"Fix CVE-2021-{1000 + i % 4}", data={"package": f"pkg{i % 5}"})
        for i in range(120)
    ]  # fmt: skip
    for plugin in ("entities", "trends"):
        stage = local_stage(plugin, data_dir=tmp_path)
        stage.analyze(batch)
        figs = stage.render(stage.result())
        stage.close()
        assert figs
        assert all(isinstance(f, Figure) and "<svg" in f.body for f in figs)


def test_rankings_break_ties_by_value() -> None:
    """Equal counts rank by name, so every process (any hash seed) ranks alike."""
    from collections import Counter

    from wiseflow.plugins._shared.ranking import ranked

    c = Counter({"b": 2, "c": 2, "a": 2, "z": 5})
    assert ranked(c) == [("z", 5), ("a", 2), ("b", 2), ("c", 2)]
    assert ranked(c, 2) == [("z", 5), ("a", 2)]
