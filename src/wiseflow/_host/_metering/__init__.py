"""Metering: real per-plugin figures, soft limits, and their exposure.

- ``_sampler``: one worker process as the OS sees it (psutil; /proc for peaks).
- ``_meter``: the figures of one plugin instance, sampled cheaply; ``_soft``: soft limits.
- ``_threads``: threads a trusted plugin started, joined (or warned about) on release.
- ``_collector``: the one collector of a run (figures, history, stages, events, requests).
- ``_export``: snapshot files for ``wiseflow top`` and the dashboard.
- ``_prometheus``: Prometheus text and endpoint, from the same snapshots.
"""

from ._calls import CallStats
from ._collector import Collector, post_request
from ._export import MetricsWriter, prometheus_text, read_snapshots, serve_prometheus, snapshot
from ._meter import SOFT_FRACTION, PluginMeter, SoftLimits, quota_figure, soft_limit_reason
from ._sampler import ProcessSample, ProcessSampler, proc_peaks
from ._threads import ThreadLedger

__all__ = [
    "SOFT_FRACTION",
    "CallStats",
    "Collector",
    "MetricsWriter",
    "PluginMeter",
    "ProcessSample",
    "ProcessSampler",
    "SoftLimits",
    "ThreadLedger",
    "post_request",
    "proc_peaks",
    "prometheus_text",
    "quota_figure",
    "read_snapshots",
    "serve_prometheus",
    "snapshot",
    "soft_limit_reason",
]
