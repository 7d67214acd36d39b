"""`wiseflow run --metrics-port`: Prometheus text scraped from a real run while it runs,
from the same collector the dashboard and `wiseflow top` read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_kit import release, wait_for

from wf_cli import wf

pytest.importorskip("prometheus_client")


def _value(text: str, metric: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_run_serves_prometheus_metrics_while_it_runs(project: Path, live_run: Any) -> None:
    """Scrapes during the run show wiseflow_plugin_* labelled plugin and instance, growing
    as records flow, equal to what the run publishes for the dashboard; stage metrics and
    the breaker too; every line is exposition format."""
    run = live_run("--metrics-port", "0")
    url = run.line_starting("metrics: ")
    release(project, 4)
    run.wait_fetched(4)

    def scrape() -> str:
        return httpx.get(url, timeout=30).text

    def upper_took(n: int) -> str | None:
        text = scrape()
        return (
            text
            if _value(text, "wiseflow_plugin_records_in_total", instance="upper") == n
            else None
        )

    text = wait_for(lambda: upper_took(3), "3 records into upper")
    assert isinstance(text, str)
    assert _value(text, "wiseflow_plugin_calls_total", plugin="flaky", instance="flaky") == 4
    assert _value(text, "wiseflow_plugin_errors_total", instance="flaky") == 1
    assert _value(text, "wiseflow_stage_records_out_total", stage="gated") == 4
    assert _value(text, "wiseflow_plugin_breaker_state", instance="flaky") == 0
    memory = _value(text, "wiseflow_plugin_memory_bytes", instance="flaky", level="sandboxed")
    assert memory is not None and memory > 1024 * 1024  # its worker's RSS, read with psutil
    published = run.plugin("flaky")
    assert (
        _value(text, "wiseflow_plugin_records_out_total", instance="flaky")
        == published["records_out"]
    )
    release(project, 12)  # 9, 10, 11 fail in a row: the breaker opens
    wait_for(lambda: _value(scrape(), "wiseflow_plugin_breaker_state", instance="flaky") == 2,
             "breaker open in the metrics")  # fmt: skip
    top = json.loads(wf("top", "--json", cwd=project).stdout)  # the same collector, via files
    (flaky,) = [p for p in top["plugins"] if p["name"] == "flaky"]
    text = scrape()
    assert flaky["breaker"] == "open"
    assert _value(text, "wiseflow_plugin_calls_total", instance="flaky") == flaky["calls"]
    (host,) = top["runs"]
    assert host["run"]["records"]["fetched"] == 12
    assert [st["name"] for st in host["stages"]] == ["gated", "flaky", "upper"]
    sample = re.compile(r'^[a-z_]+\{([a-z_]+="[^"]*",?)+\} -?[0-9.e+-]+$')
    for line in scrape().splitlines():
        assert line.startswith("# ") or sample.match(line), line
    code, _ = run.finish()
    assert code == 1
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=5)  # the endpoint ends with the run
