"""Recovery: crashed or stopped plugins come back in place; quota deaths name their figure."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from resilience_kit import config, policy, recs, write_plugin

from wiseflow import PluginState, QuotaExceeded, WorkerCrashed

MOODY = """
class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.ctx = ctx

    def process(self, batch):
        mode = os.path.join(str(self.ctx.data_dir), "mode")
        if os.path.exists(mode) and open(mode).read() == "crash":
            os._exit(9)
        return batch
"""


def _moody(tmp_path: Path, wiseflow_manager: Any, **pol: Any) -> tuple[Any, Path]:
    write_plugin(tmp_path / "plugins", "moody", MOODY)
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"], level="sandboxed", config=config(moody=policy(**pol))
    )
    handle = pm.start("moody")
    return pm, Path(handle.runner.spec.data_dir) / "mode"


def test_crash_past_retries_is_error_and_recovers_after_cool_down(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """A worker crashing on every attempt puts the plugin in ERROR; once the cause is gone
    and breaker.reset_s has passed, the next call restarts it in the same handle."""
    pm, mode = _moody(tmp_path, wiseflow_manager, attempts=2, reset_s=0.3)
    handle = pm.get("moody")
    mode.write_text("crash")
    with pytest.raises(WorkerCrashed) as info:
        handle.process(recs(1))
    assert info.value.code == "WF402" and "status 9" in info.value.message
    assert handle.state is PluginState.ERROR and handle.stats.restarts == 1
    assert handle.runner.pid() is None
    mode.write_text("ok")
    time.sleep(0.35)
    assert handle.process(recs(2)) == recs(2)
    assert handle.state is PluginState.ACTIVE and pm.get("moody") is handle
    assert handle.runner.pid() is not None
    assert handle.describe()["breaker"]["state"] == "closed"


def test_operator_enable_recovers_error_in_place(tmp_path: Path, wiseflow_manager: Any) -> None:
    """Without a configured cool-down ERROR stays until enable(), which restarts in place."""
    pm, mode = _moody(tmp_path, wiseflow_manager, attempts=1)
    handle = pm.get("moody")
    mode.write_text("crash")
    with pytest.raises(WorkerCrashed):
        handle.process(recs(1))
    time.sleep(0.05)
    with pytest.raises(Exception) as info:
        handle.process(recs(1))
    assert getattr(info.value, "code", "") == "WF405"
    mode.write_text("ok")
    assert pm.enable("moody") is handle
    assert handle.state is PluginState.ACTIVE and handle.process(recs(1)) == recs(1)


HOG = """
class P(ProcessorPlugin):
    def process(self, batch):
        if any(r.id == "hog" for r in batch):
            hog = []
            while True:
                hog.append(bytearray(8 * 1024 * 1024))
        return batch
"""


def test_memory_hog_ends_with_wf403_naming_limit_and_figure(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """A sandboxed plugin allocating without end gets WF403 naming its 160 MB limit and the
    peak address space the OS measured (within the limit, above 90% of it)."""
    write_plugin(tmp_path / "plugins", "hog", HOG)
    pol = policy(resources={"memory_mb": 160, "soft_memory_mb": 160})
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"], level="sandboxed", config=config(hog=pol)
    )
    handle = pm.start("hog")
    assert handle.runner.memory_mb == 160
    with pytest.raises(QuotaExceeded) as info:
        handle.process([recs(1)[0], recs(1)[0].replace(id="hog")])
    msg = info.value.message
    assert info.value.code == "WF403" and "160 MB" in msg and "reached: peak address space" in msg
    peak = float(msg.split("peak address space ")[1].split(" MB")[0])
    assert 0.9 * 160 <= peak <= 160
    assert handle.state is PluginState.ERROR


SPIN = """
class P(ProcessorPlugin):
    def process(self, batch):
        while True:
            pass
"""


def test_cpu_hog_ends_with_wf403_naming_the_cpu_limit(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """A sandboxed plugin spinning past cpu_seconds = 1 gets WF403 naming CPU and 1 s."""
    write_plugin(tmp_path / "plugins", "spin", SPIN)
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"],
        level="sandboxed",
        config=config(spin=policy(resources={"cpu_seconds": 1})),
    )
    with pytest.raises(QuotaExceeded) as info:
        pm.start("spin").process(recs(1))
    assert info.value.code == "WF403"
    assert "CPU quota (1 s)" in info.value.message and "reached: 1 s of CPU" in info.value.message
