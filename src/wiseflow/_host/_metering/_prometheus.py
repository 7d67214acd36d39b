"""The Prometheus view of the collector's snapshots: text exposition and an HTTP endpoint.

:func:`families` turns snapshots into metric families once; :func:`prometheus_text` prints
them (the ``<pid>.prom`` file for a node_exporter textfile collector) and
:func:`serve_prometheus` serves them with ``prometheus_client`` (``wiseflow run
--metrics-port``), so both carry the same metrics. Plugin metrics are labelled ``plugin`` and
``instance`` (plus ``kind`` and ``level``); stage metrics ``stage`` and ``plugin``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, final

__all__ = ["Family", "PrometheusServer", "families", "prometheus_text", "serve_prometheus"]

Docs = Callable[[], list[dict[str, Any]]]

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
_STAGE_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("wiseflow_stage_records_in_total", "counter", "Records into the stage", "in"),
    ("wiseflow_stage_records_out_total", "counter", "Records out of the stage", "out"),
    ("wiseflow_stage_errors_total", "counter", "Failures in the stage", "errors"),
    ("wiseflow_stage_queued_records", "gauge", "Records handed on and not yet taken in",
     "queued"),
)  # fmt: skip
_BREAKER = {"closed": 0, "half-open": 1, "open": 2}


class Family(NamedTuple):
    """One metric family: its samples are ``(labels, value)``."""

    name: str
    kind: str  # counter | gauge | summary
    help: str
    samples: list[tuple[dict[str, str], float]]


def _figures(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, **(p.get("resources") or {})}


def _labels(p: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        "instance": str(p.get("name", "")),
        "plugin": str(p.get("plugin", "")),
        "kind": str(p.get("kind", "")),
        "level": str(p.get("level", "")),
        **extra,
    }


def families(docs: list[dict[str, Any]]) -> list[Family]:
    """The metric families of ``docs`` (collector snapshots); empty families left out."""
    plugins = [_figures(p) for doc in docs for p in doc.get("plugins", ())]
    out: list[Family] = []
    for metric, kind, help_, key, scale in _METRICS:
        rows = [(_labels(p), float(p[key]) * scale) for p in plugins if _isnum(p.get(key))]
        if rows:
            out.append(Family(metric, kind, help_, rows))
    latency = [
        (_labels(p, quantile=q), float(p[key]) / 1000)
        for p in plugins
        for q, key in (("0.5", "p50_ms"), ("0.95", "p95_ms"))
        if _isnum(p.get(key))
    ]
    out.append(Family("wiseflow_plugin_latency_seconds", "summary", "Call latency quantiles",
                      latency))  # fmt: skip
    breaker = [
        (_labels(p), float(_BREAKER.get((p.get("breaker") or {}).get("state", "closed"), 0)))
        for p in plugins
    ]
    out.append(Family("wiseflow_plugin_breaker_state", "gauge",
                      "Circuit breaker: 0 closed, 1 half-open, 2 open", breaker))  # fmt: skip
    up = [
        (_labels(p, state=str(p.get("state", ""))), float(p.get("state") == "ACTIVE"))
        for p in plugins
    ]
    out.append(Family("wiseflow_plugin_up", "gauge", "1 when the plugin is ACTIVE", up))
    stages = [s for doc in docs for s in doc.get("stages", ())]
    for metric, kind, help_, key in _STAGE_METRICS:
        rows = [
            ({"stage": str(s.get("name", "")), "plugin": str(s.get("plugin", ""))}, float(s[key]))
            for s in stages
            if _isnum(s.get(key))
        ]
        if rows:
            out.append(Family(metric, kind, help_, rows))
    return out


def _isnum(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _render_labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def prometheus_text(docs: list[dict[str, Any]]) -> str:
    """The figures of ``docs`` (snapshots) in the Prometheus text exposition format."""
    lines: list[str] = []
    for fam in families(docs):
        lines += [f"# HELP {fam.name} {fam.help}", f"# TYPE {fam.name} {fam.kind}"]
        lines += [f"{fam.name}{_render_labels(lab)} {_num(v)}" for lab, v in fam.samples]
    return "\n".join(lines) + "\n"


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
    collect: Docs, port: int = 9750, addr: str = "127.0.0.1", *, documents: bool = False
) -> PrometheusServer:
    """Serve the figures at ``http://addr:port/metrics`` with ``prometheus_client``.

    ``collect`` returns plugin figures (``describe()`` dicts), or whole snapshots with
    ``documents=True`` (a :class:`~._collector.Collector`'s, stages included). Returns a
    :class:`PrometheusServer` (``close()`` it when done). Raises ``ImportError`` without
    ``prometheus_client``; the file export needs nothing.
    """
    pc: Any = importlib.import_module("prometheus_client")
    core: Any = importlib.import_module("prometheus_client.core")
    registry = pc.CollectorRegistry()

    class _Collector:
        def collect(self) -> Iterator[Any]:
            got = collect()
            docs = got if documents else [{"plugins": got}]
            for fam in families(docs):
                base = fam.name.removesuffix("_total") if fam.kind == "counter" else fam.name
                metric = core.Metric(base, fam.help, fam.kind)
                for labels, value in fam.samples:
                    metric.add_sample(fam.name, labels, value)
                yield metric

    registry.register(_Collector())
    return _serve(pc.make_wsgi_app(registry), addr, port)


#: Host names a loopback endpoint answers to: a page on another name (DNS rebinding: a
#: hostile site whose name now resolves to 127.0.0.1) gets 400, not the plugins' figures.
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _serve(app: Callable[..., Any], addr: str, port: int) -> PrometheusServer:
    """``app`` behind a Host check, on a thread of its own (requests in their own threads)."""
    import threading
    from socketserver import ThreadingMixIn
    from urllib.parse import urlsplit
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    allowed = _LOOPBACK_NAMES if addr in _LOOPBACK_NAMES else frozenset({addr})

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            name = urlsplit("//" + str(environ.get("HTTP_HOST", ""))).hostname
        except ValueError:
            name = None
        if name not in allowed:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"unexpected Host header\n"]
        return app(environ, start_response)

    class _Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # nothing of a scrape reaches the run's terminal

    server = make_server(addr, port, guarded, _Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="wiseflow-metrics", daemon=True)
    thread.start()
    return PrometheusServer(server, thread)
