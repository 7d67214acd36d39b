"""Metered figures are the OS's figures: a worker's RSS, CPU and fds as /proc reports them.

Tolerances: RSS within 5% or 4 MB (the worker allocates between our read and the OS's);
CPU within 0.05 s + 5% (the clock ticks at 10 ms); open fds within 2.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil
import pytest
from resilience_kit import config, events_of, policy, write_plugin

from wiseflow import ProcessorPlugin, Record, WiseflowWarning

WORKER = """
class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.held = []

    def process(self, batch):
        return batch

    def hold(self, mb):
        self.held.append(bytearray(mb * 1024 * 1024))
        for i in range(0, len(self.held[-1]), 4096):
            self.held[-1][i] = 1  # touch every page: resident, not just reserved
        return mb

    def burn(self, seconds):
        end = time.process_time() + seconds
        n = 0
        while time.process_time() < end:
            n += 1
        return n
"""


def _proc_status_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _start(tmp_path: Path, wiseflow_manager: Any, **resources: float) -> Any:
    write_plugin(tmp_path / "plugins", "worker", WORKER)
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"],
        level="sandboxed",
        config=config(worker=policy(resources=dict(resources))),
    )
    return pm.start("worker")


def test_worker_rss_matches_what_the_os_reports(tmp_path: Path, wiseflow_manager: Any) -> None:
    """After the worker holds 64 MB, reported RSS equals /proc/PID/status VmRSS (±5%/4 MB)
    and has grown by at least 60 MB."""
    handle = _start(tmp_path, wiseflow_manager)
    pid = handle.runner.pid()
    before = handle.describe(sample=True)["resources"]["memory_mb"]
    handle.invoke("hold", 64)
    figures = handle.describe(sample=True)["resources"]
    os_rss = _proc_status_rss(pid) / 2**20
    assert abs(figures["memory_mb"] - os_rss) <= max(4.0, 0.05 * os_rss)
    assert figures["memory_mb"] - before >= 60
    assert figures["uss_mb"] is not None and figures["uss_mb"] <= figures["memory_mb"]
    assert figures["peak_rss_mb"] >= figures["memory_mb"] - 0.01


def test_worker_cpu_and_fds_match_what_the_os_reports(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """After burning 0.3 s of CPU in the worker, reported CPU equals psutil's user+system
    (±0.05 s+5%) and is ≥0.3 s; open fds equal the entries of /proc/PID/fd (±2)."""
    handle = _start(tmp_path, wiseflow_manager)
    pid = handle.runner.pid()
    handle.invoke("burn", 0.3)
    figures = handle.describe(sample=True)["resources"]
    t = psutil.Process(pid).cpu_times()
    os_cpu = t.user + t.system
    assert figures["cpu_s"] >= 0.29
    assert abs(figures["cpu_s"] - os_cpu) <= 0.05 + 0.05 * os_cpu
    assert abs(figures["fds"] - len(os.listdir(f"/proc/{pid}/fd"))) <= 2
    assert figures["threads"] == psutil.Process(pid).num_threads()


def test_sampling_is_rate_limited(tmp_path: Path, wiseflow_manager: Any) -> None:
    """Hundreds of fast calls cause a handful of OS samples, not one per call."""
    handle = _start(tmp_path, wiseflow_manager)
    batch = [Record(id="1", source="t")]
    before = handle.meter.samples
    t0 = time.monotonic()
    for _ in range(300):
        handle.process(batch)
    elapsed = time.monotonic() - t0
    taken = handle.meter.samples - before
    assert taken <= elapsed / handle.meter.interval_s + 2


def test_trusted_cpu_is_thread_cpu_and_memory_is_stated_unavailable(wiseflow_manager: Any) -> None:
    """A trusted plugin burning 0.2 s of CPU is metered by the thread CPU clock; its memory
    is reported as unavailable, not invented."""

    class Burner(ProcessorPlugin):
        name = "burner"

        def process(self, batch: list[Record]) -> list[Record]:
            end = time.thread_time() + 0.2
            while time.thread_time() < end:
                pass
            return batch

    handle = wiseflow_manager(Burner).start("burner")
    handle.process([Record(id="1", source="t")])
    res = handle.describe()["resources"]
    assert 0.19 <= res["cpu_s"] <= 0.5
    assert res["memory_mb"] is None and "unavailable" in res["memory_source"]


def test_trusted_memory_is_approximated_with_tracemalloc(wiseflow_manager: Any) -> None:
    """With tracemalloc tracing, memory a trusted plugin keeps is attributed to it (±20%)."""

    class Keeper(ProcessorPlugin):
        name = "keeper"

        def initialize(self, ctx: Any) -> None:
            self.kept: list[bytes] = []

        def process(self, batch: list[Record]) -> list[Record]:
            self.kept.append(b"x" * (8 * 2**20))
            return batch

    handle = wiseflow_manager(Keeper).start("keeper")
    tracemalloc.start()
    try:
        handle.process([Record(id="1", source="t")])
        res = handle.describe()["resources"]
    finally:
        tracemalloc.stop()
    assert 8 * 0.8 <= res["memory_mb"] <= 8 * 1.2
    assert "tracemalloc" in res["memory_source"]


def test_soft_memory_limit_warns_and_publishes_an_event(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """Crossing soft_memory_mb emits a WiseflowWarning and a quota-soft event, once."""
    handle = _start(tmp_path, wiseflow_manager, soft_memory_mb=60)
    seen = events_of(handle, "worker")  # the handle publishes on its manager's bus
    with pytest.warns(WiseflowWarning, match=r"memory_mb at .* soft limit 60 MB; hard limit"):
        handle.invoke("hold", 64)
        handle.meter.sample()
    handle.meter.sample()  # still above: no second warning
    assert seen.count("quota-soft") == 1


def test_operator_limits_tighten_manifest_defaults_but_never_loosen(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """Operator resources below the manifest's win; above them, the manifest's stay."""
    extra = "[plugin.resources]\nmemory_mb = 300\ncpu_seconds = 50\nmax_open_files = 40\n"
    write_plugin(tmp_path / "plugins", "tight", WORKER, extra=extra)
    write_plugin(tmp_path / "plugins", "loose", WORKER, extra=extra)
    looser = {"memory_mb": 9000, "cpu_seconds": 900, "max_open_files": 900, "timeout_s": 900}
    tighter = {"memory_mb": 200, "cpu_seconds": 20, "max_open_files": 30, "timeout_s": 5}
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"],
        level="sandboxed",
        config=config(tight=policy(resources=tighter), loose=policy(resources=looser)),
    )
    tight, loose = pm.load("tight"), pm.load("loose")
    assert (tight.runner.memory_mb, tight.runner.cpu_seconds) == (200, 20)
    assert (tight.runner.max_open_files, tight.timeout_s) == (30, 5)
    assert (loose.runner.memory_mb, loose.runner.cpu_seconds) == (300, 50)
    assert (loose.runner.max_open_files, loose.timeout_s) == (40, 60)
