"""Exposure: metrics snapshot files for ``wiseflow top``, and the Prometheus text format.

A running host (``wiseflow run``) writes ``<data_dir>/metrics/<pid>.json`` (and the same
figures as ``<pid>.prom`` for a node_exporter textfile collector) every second, atomically
(write then rename), and removes both when it stops. ``wiseflow top`` reads every snapshot
whose host is still alive. With ``prometheus_client`` installed, :func:`serve_prometheus`
also offers the figures over HTTP.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

import psutil

__all__ = [
    "SNAPSHOT_VERSION",
    "MetricsWriter",
    "PrometheusServer",
    "prometheus_text",
    "read_snapshots",
    "serve_prometheus",
    "snapshot",
]

SNAPSHOT_VERSION = 1

Collect = Callable[[], list[dict[str, Any]]]


def snapshot(plugins: list[dict[str, Any]], label: str = "") -> dict[str, Any]:
    """The snapshot document: who wrote it, when, and every plugin's figures."""
    return {
        "version": SNAPSHOT_VERSION,
        "host_pid": os.getpid(),
        "label": label,
        "written": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "epoch": time.time(),
        "plugins": plugins,
    }


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@final
class MetricsWriter:
    """Writes the snapshot of ``collect()`` every ``interval_s`` until stopped.

    Example:
        >>> with MetricsWriter(lambda: [h.describe(sample=True) for h in pm.handles()],
        ...                    data_dir / "metrics", label="run demo"):
        ...     run_pipeline(...)
    """

    def __init__(
        self, collect: Collect, directory: str | Path, *, interval_s: float = 1.0, label: str = ""
    ) -> None:
        self.collect = collect
        self.directory = Path(directory)
        self.interval_s = interval_s
        self.label = label
        self.json_path = self.directory / f"{os.getpid()}.json"
        self.prom_path = self.directory / f"{os.getpid()}.prom"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.writes = 0
        self.failures = 0

    def write(self) -> dict[str, Any]:
        doc = snapshot(self.collect(), self.label)
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.json_path, json.dumps(doc, default=str))
        _write_atomic(self.prom_path, prometheus_text([doc]))
        self.writes += 1
        return doc

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.write()
            except Exception:  # a full disk must not take the run down
                self.failures += 1

    def start(self) -> MetricsWriter:
        self.write()
        self._thread = threading.Thread(
            target=self._loop, name="wiseflow-metrics-writer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for path in (self.json_path, self.prom_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def __enter__(self) -> MetricsWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_snapshots(directory: str | Path) -> list[dict[str, Any]]:
    """Snapshots of hosts that are still running (stale files of dead hosts are skipped)."""
    out = []
    root = Path(directory)
    if not root.is_dir():
        return []
    for path in sorted(root.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being replaced right now, or not ours
        pid = doc.get("host_pid") if isinstance(doc, dict) else None
        if isinstance(pid, int) and psutil.pid_exists(pid):
            out.append(doc)
    return out


# -- Prometheus text exposition format -----------------------------------------------------

#: (metric, type, help, key in a plugin's figures, scale)
_METRICS: tuple[tuple[str, str, str, str, float], ...] = (
    ("wiseflow_plugin_calls_total", "counter", "Calls into the plugin", "calls", 1),
    ("wiseflow_plugin_errors_total", "counter", "Failed calls", "errors", 1),
    ("wiseflow_plugin_retries_total", "counter", "Retried attempts", "retries", 1),
    ("wiseflow_plugin_restarts_total", "counter", "Worker restarts", "restarts", 1),
    ("wiseflow_plugin_fallback_calls_total", "counter", "Calls served by the fallback",
     "fallback_calls", 1),
    ("wiseflow_plugin_records_in_total", "counter", "Records handed in", "records_in", 1),
    ("wiseflow_plugin_records_out_total", "counter", "Records handed out", "records_out", 1),
    ("wiseflow_plugin_cpu_seconds_total", "counter", "CPU time", "cpu_s", 1),
    ("wiseflow_plugin_memory_bytes", "gauge", "Worker RSS (or tracemalloc estimate)",
     "memory_mb", 1024 * 1024),
    ("wiseflow_plugin_uss_bytes", "gauge", "Worker USS", "uss_mb", 1024 * 1024),
    ("wiseflow_plugin_open_fds", "gauge", "Open file descriptors of the worker", "fds", 1),
    ("wiseflow_plugin_threads", "gauge", "Threads of the worker", "threads", 1),
    ("wiseflow_plugin_children", "gauge", "Child processes of the worker", "children", 1),
)  # fmt: skip

_BREAKER = {"closed": 0, "half-open": 1, "open": 2}


def _figures(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, **(p.get("resources") or {})}


def _labels(p: dict[str, Any], **extra: str) -> str:
    pairs = {
        "instance": p.get("name", ""),
        "plugin": p.get("plugin", ""),
        "kind": p.get("kind", ""),
        "level": p.get("level", ""),
        **extra,
    }
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in pairs.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _plugins(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        yield from doc.get("plugins", ())


def prometheus_text(docs: list[dict[str, Any]]) -> str:
    """The figures of ``docs`` (snapshots) in the Prometheus text exposition format."""
    plugins = [_figures(p) for p in _plugins(docs)]
    lines: list[str] = []
    for metric, kind, help_, key, scale in _METRICS:
        rows = [(p, float(p[key])) for p in plugins if isinstance(p.get(key), int | float)]
        if not rows:
            continue
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} {kind}"]
        lines += [f"{metric}{_labels(p)} {_num(v * scale)}" for p, v in rows]
    lines += [
        "# HELP wiseflow_plugin_latency_seconds Call latency quantiles",
        "# TYPE wiseflow_plugin_latency_seconds summary",
    ]
    for p in plugins:
        for q, key in (("0.5", "p50_ms"), ("0.95", "p95_ms")):
            if isinstance(p.get(key), int | float):
                labels = _labels(p, quantile=q)
                lines.append(f"wiseflow_plugin_latency_seconds{labels} {_num(p[key] / 1000)}")
    lines += [
        "# HELP wiseflow_plugin_breaker_state Circuit breaker: 0 closed, 1 half-open, 2 open",
        "# TYPE wiseflow_plugin_breaker_state gauge",
    ]
    for p in plugins:
        state = (p.get("breaker") or {}).get("state", "closed")
        lines.append(f"wiseflow_plugin_breaker_state{_labels(p)} {_BREAKER.get(state, 0)}")
    lines += [
        "# HELP wiseflow_plugin_up 1 when the plugin is ACTIVE",
        "# TYPE wiseflow_plugin_up gauge",
    ]
    lines += [
        f"wiseflow_plugin_up{_labels(p, state=str(p.get('state', '')))} "
        f"{int(p.get('state') == 'ACTIVE')}"
        for p in plugins
    ]
    return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


@final
class PrometheusServer:
    """A running metrics endpoint: ``port`` it listens on, ``close()`` to stop it."""

    def __init__(self, server: Any, thread: Any) -> None:
        self._server = server
        self._thread = thread
        self.port: int = int(server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_prometheus(
    collect: Collect, port: int = 9750, addr: str = "127.0.0.1"
) -> PrometheusServer:
    """Serve the figures over HTTP with ``prometheus_client`` (when installed).

    Returns a :class:`PrometheusServer` (``close()`` it when done). Raises ``ImportError``
    without ``prometheus_client``; the file export needs nothing.
    """
    pc: Any = importlib.import_module("prometheus_client")
    core: Any = importlib.import_module("prometheus_client.core")
    registry = pc.CollectorRegistry()

    class _Collector:
        def collect(self) -> Iterator[Any]:
            plugins = [_figures(p) for p in collect()]
            names = ["instance", "plugin", "kind", "level"]
            for metric, kind, help_, key, scale in _METRICS:
                base = metric.removesuffix("_total")
                fam = (
                    core.CounterMetricFamily(base, help_, labels=names)
                    if kind == "counter"
                    else core.GaugeMetricFamily(metric, help_, labels=names)
                )
                for p in plugins:
                    if isinstance(p.get(key), int | float):
                        fam.add_metric([str(p.get(n, "")) for n in ("name", *names[1:])],
                                       p[key] * scale)  # fmt: skip
                yield fam

    registry.register(_Collector())
    server, thread = pc.start_http_server(port, addr=addr, registry=registry)
    return PrometheusServer(server, thread)
