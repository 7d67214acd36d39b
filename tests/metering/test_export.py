"""Exposure: snapshot files, `wiseflow top` and the Prometheus text show the same figures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from resilience_kit import recs

from wiseflow import ProcessorPlugin, Record
from wiseflow._host._metering import MetricsWriter, prometheus_text, read_snapshots


class Echo(ProcessorPlugin):
    name = "echo"

    def process(self, batch: list[Record]) -> list[Record]:
        return batch


def _manager(wiseflow_manager: Any) -> Any:
    pm = wiseflow_manager(Echo)
    handle = pm.start("echo")
    for _ in range(3):
        handle.process(recs(2))
    return pm


def _collect(pm: Any) -> Any:
    return lambda: [h.describe(sample=True) for h in pm.handles()]


def _sample(text: str, metric: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{metric} {labels} not in:\n{text}")


def test_prometheus_text_carries_the_handle_figures(wiseflow_manager: Any) -> None:
    """Calls, records, breaker state and latency quantiles appear with the handle's values,
    and every sample line is well-formed exposition format."""
    pm = _manager(wiseflow_manager)
    text = prometheus_text([{"plugins": _collect(pm)()}])
    assert _sample(text, "wiseflow_plugin_calls_total", instance="echo") == 3
    assert _sample(text, "wiseflow_plugin_records_in_total", instance="echo") == 6
    assert _sample(text, "wiseflow_plugin_breaker_state", instance="echo") == 0
    assert _sample(text, "wiseflow_plugin_up", instance="echo", state="ACTIVE") == 1
    p95 = pm.get("echo").stats.percentile(0.95)
    got = _sample(text, "wiseflow_plugin_latency_seconds", instance="echo", quantile="0.95")
    assert got == pytest.approx(p95, abs=1e-6)
    line = re.compile(r'^[a-z_]+\{([a-z_]+="[^"]*",?)+\} -?[0-9.e+-]+$')
    for row in text.splitlines():
        assert row.startswith("# ") or line.match(row), row


def test_metrics_writer_writes_snapshots_and_removes_them(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """While running, <pid>.json and <pid>.prom exist and are readable; after stop, gone."""
    pm = _manager(wiseflow_manager)
    with MetricsWriter(_collect(pm), tmp_path / "metrics", interval_s=0.05, label="t") as w:
        docs = read_snapshots(tmp_path / "metrics")
        assert [p["name"] for p in docs[0]["plugins"]] == ["echo"]
        assert docs[0]["host_pid"] == os.getpid() and docs[0]["label"] == "t"
        assert "wiseflow_plugin_calls_total" in w.prom_path.read_text()
    assert list((tmp_path / "metrics").iterdir()) == []


def test_snapshots_of_dead_hosts_are_ignored(tmp_path: Path) -> None:
    """A snapshot left by a host that no longer runs is not shown."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "1.json").write_text(
        json.dumps({"host_pid": int(dead.stdout), "plugins": [{"name": "ghost"}]})
    )
    assert read_snapshots(tmp_path / "metrics") == []


def _top(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", "top", "--data-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_wiseflow_top_shows_the_running_hosts_plugins(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """`wiseflow top --json` lists the running host's plugins with the same calls and
    errors; `top --once` prints them in a table."""
    pm = _manager(wiseflow_manager)
    with MetricsWriter(_collect(pm), tmp_path / "metrics", label="run demo"):
        res = _top(tmp_path, "--json")
        table = _top(tmp_path, "--once")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    (row,) = doc["plugins"]
    assert (row["name"], row["state"], row["calls"], row["errors"]) == ("echo", "ACTIVE", 3, 0)
    assert row["breaker"] == "closed" and row["host"] == "run demo"
    assert row["memory_mb"] is None and "unavailable" in row["memory_source"]
    assert table.returncode == 0 and "echo" in table.stdout and "ACTIVE" in table.stdout


def test_top_without_running_hosts_says_so(tmp_path: Path) -> None:
    """With no host writing metrics, `top --once` explains how to get some."""
    res = _top(tmp_path, "--once")
    assert res.returncode == 0 and "no running wiseflow host" in res.stdout


def test_prometheus_endpoint_serves_the_figures(wiseflow_manager: Any) -> None:
    """With prometheus_client installed, the endpoint serves the same call counts."""
    pytest.importorskip("prometheus_client")
    import urllib.request

    from wiseflow._host._metering import serve_prometheus

    pm = _manager(wiseflow_manager)
    server = serve_prometheus(_collect(pm), port=0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics") as resp:
            text = resp.read().decode()
    finally:
        server.close()
    assert 'wiseflow_plugin_calls_total{instance="echo"' in text


def test_prometheus_endpoint_refuses_another_host_name(wiseflow_manager: Any) -> None:
    """DNS rebinding: a request naming another host (a hostile page whose name resolves to
    127.0.0.1) gets 400 and no figures; the same request naming 127.0.0.1 gets them."""
    pytest.importorskip("prometheus_client")
    import http.client

    from wiseflow._host._metering import serve_prometheus

    pm = _manager(wiseflow_manager)
    server = serve_prometheus(_collect(pm), port=0)
    got = {}
    try:
        for host in ("evil.example", f"evil.example:{server.port}", f"localhost:{server.port}"):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", "/metrics", headers={"Host": host})
            resp = conn.getresponse()
            got[host] = (resp.status, resp.read().decode())
            conn.close()
    finally:
        server.close()
    for host in ("evil.example", f"evil.example:{server.port}"):
        status, body = got[host]
        assert status == 400 and "wiseflow_plugin" not in body
    status, body = got[f"localhost:{server.port}"]
    assert status == 200 and 'wiseflow_plugin_calls_total{instance="echo"' in body
