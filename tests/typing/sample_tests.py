"""Plugin tests written the way authors write them, type-checked with mypy --strict."""

from __future__ import annotations

from pathlib import Path

import httpx
from sample_plugin import Feed

from wiseflow import Record
from wiseflow.testing import ConformanceReport, PluginRun, conformance, run_plugin

PLUGIN = Path(__file__).parent / "plugins" / "feed"


def answer(request: httpx.Request) -> tuple[int, dict[str, str], str] | None:
    if request.url.path == "/feed":
        return (200, {"etag": '"v1"'}, "<rss/>")
    return None


def test_feed_at_both_levels() -> None:
    for level in ("trusted", "sandboxed"):
        run: PluginRun = run_plugin(
            Feed,
            {"url": "https://example.org/feed"},
            level=level,
            grants={"network": ["example.org:443"], "env": ["FEED_TOKEN"]},
            http={"https://example.org/feed": (200, "<rss/>")},
        )
        assert all(isinstance(r, Record) for r in run.records)
        assert run.logs == [] or run.logs[0].startswith(("DEBUG", "INFO"))
    run_plugin(Feed, {"url": "https://example.org/feed"}, http=answer)
    run_plugin(PLUGIN, records=[Record(id="1", source="t")], state={"page": 2})


def test_conforms() -> None:
    report: ConformanceReport = conformance(PLUGIN, level="sandboxed", config={"url": "x"})
    assert report.ok, report.describe()
    assert all(c.ok for c in report.checks)
