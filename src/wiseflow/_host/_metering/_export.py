"""Exposure: metrics snapshot files for ``wiseflow top``, and the Prometheus text format.

A running host (``wiseflow run``) writes ``<data_dir>/metrics/<pid>.json`` (and the same
figures as ``<pid>.prom`` for a node_exporter textfile collector) every second, atomically
(write then rename), and removes both when it stops. ``wiseflow top`` reads every snapshot
whose host is still alive. With ``prometheus_client`` installed, :func:`serve_prometheus`
also offers the figures over HTTP.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

from ._collector import Collector, control_dir
from ._prometheus import PrometheusServer, prometheus_text, serve_prometheus

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


#: The snapshot names the running writers of this process use (see :func:`_claim`).
_ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def _claim() -> str:
    """This writer's name: the pid, or ``pid-N`` while another run of the same process
    (an embedder's threads) writes its own, so that neither replaces nor removes the
    other's snapshot and control folder."""
    pid = os.getpid()
    with _ACTIVE_LOCK:
        key, n = str(pid), 1
        while key in _ACTIVE:
            n += 1
            key = f"{pid}-{n}"
        _ACTIVE.add(key)
    return key


def _write_atomic(path: Path, text: str) -> None:
    # a temporary name of this thread's own: two runs of one process (an embedder's
    # threads) write the same snapshot file, and one's rename must not take the other's
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
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
        self,
        collect: Collect | Collector,
        directory: str | Path,
        *,
        interval_s: float = 1.0,
        label: str = "",
    ) -> None:
        self.collector = collect if isinstance(collect, Collector) else None
        self.collect = collect.plugins if isinstance(collect, Collector) else collect
        self.directory = Path(directory)
        self.interval_s = interval_s
        self.label = label
        self.key = _claim()
        self.json_path = self.directory / f"{self.key}.json"
        self.prom_path = self.directory / f"{self.key}.prom"
        #: operators' requests for this host (a collector with a ``control`` only)
        self.control_path = control_dir(self.directory, self.key)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.writes = 0
        self.failures = 0

    def write(self) -> dict[str, Any]:
        if self.collector is not None:
            self.collector.take_requests(self.control_path)
            doc = self.collector.snapshot()
        else:
            doc = snapshot(self.collect(), self.label)
        doc = {**doc, "host_key": self.key}  # where the dashboard drops requests for it
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
        if self.collector is not None and self.collector.control is not None:
            self.control_path.mkdir(parents=True, exist_ok=True)
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
        if self.control_path.is_dir():
            shutil.rmtree(self.control_path, ignore_errors=True)
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self.key)

    def __enter__(self) -> MetricsWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_snapshots(directory: str | Path) -> list[dict[str, Any]]:
    """Snapshots of hosts that are still running (stale files of dead hosts are skipped)."""
    import psutil  # `wiseflow top` only: not loaded by every host's start

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
