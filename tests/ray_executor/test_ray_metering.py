"""Metering and behaviour monitoring of workers on a Ray node (issue 14).

The host cannot read a pid of another node: the node's actor samples its worker and relays
the samples and the worker's audit-hook telemetry (``_ray/_relay``). Checked against the
same pipeline run locally: a CPU-heavy plugin's CPU and RSS are real and of the same order
on Ray, a hostile plugin's network attempt shows in ``plugins.NAME.behaviour`` as locally,
a memory quota breach on Ray is WF403 with the figure the node measured, and hostile
figures injected at the relay's boundary never become the host's figures.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from ray_kit import UPPER, project, rows, run

from wiseflow import QuotaExceeded, Record, load_manifest
from wiseflow._host._metering import PluginMeter, ProcessSample, SoftLimits, quota_figure
from wiseflow._host._runner import RunnerSpec
from wiseflow._policy._broker import Broker
from wiseflow._policy._grants import Effective
from wiseflow._ray import ray_executor
from wiseflow._ray._relay import FRAMES
from wiseflow._ray._runner import FRESH_S, RayRunner
from wiseflow._sandbox._behaviour import SAMPLES
from wiseflow._sandbox._messages import Telemetry

# CPU-heavy (a pure-Python loop per record), and one network attempt per batch
HEAVY = """\
import socket
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        try:
            socket.create_connection(("127.0.0.1", 9), timeout=5).close()
            net = "ok"
        except OSError as exc:
            net = f"{type(exc).__name__}:{exc.errno}"
        out = []
        for r in batch:
            h = 0
            for k in range(1_000_000):
                h = (h * 31 + k) % 1000003
            out.append(r.annotate("h", h).annotate("net", net))
        return out
"""
WAVED = 'audit_block = "none"\n'  # the static audit would refuse the socket outright


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, ray_cluster: str) -> dict[str, Any]:
    """The same pipeline run locally and on Ray: each run's document and project root."""
    out = {}
    for where, address in (("local", None), ("ray", ray_cluster)):
        root = project(tmp_path_factory.mktemp(where), HEAVY, n=20, extra_config=WAVED)
        res = run(root, address)
        assert (res.status, res.stored, res.dead_letters) == ("ok", 20, 0), res.errors
        out[where] = {"doc": res.to_dict(), "root": root}
    return out


def test_cpu_and_rss_of_a_worker_on_ray_are_real(both: dict[str, Any]) -> None:
    local = both["local"]["doc"]["plugins"]["proc"]["resources"]
    ray = both["ray"]["doc"]["plugins"]["proc"]["resources"]
    assert "Ray node" in ray["memory_source"] and "Ray node" not in local["memory_source"]
    # 20 records x 1M loop steps (about 1 s): CPU seconds of the worker on either side, same order
    assert local["cpu_s"] > 0.1 and ray["cpu_s"] > 0.1, (local, ray)
    assert 0.2 < ray["cpu_s"] / local["cpu_s"] < 5, (local, ray)
    # a Python worker's resident set: tens of MB, the same order on the node
    assert local["peak_rss_mb"] > 5 and ray["peak_rss_mb"] > 5, (local, ray)
    assert 0.33 < ray["peak_rss_mb"] / local["peak_rss_mb"] < 3, (local, ray)
    json.dumps(both["ray"]["doc"], allow_nan=False)  # finite numbers: one valid document


def test_behaviour_on_ray_shows_the_network_attempt_as_locally(both: dict[str, Any]) -> None:
    for where in ("local", "ray"):  # the kernel refused it on both sides (seccomp: EPERM)
        nets = {
            json.loads(a)["net"]
            for (a,) in rows(both[where]["root"], "select annotations from records")
        }
        assert nets == {"PermissionError:1"}, (where, nets)
    local = both["local"]["doc"]["plugins"]["proc"]["behaviour"]
    ray = both["ray"]["doc"]["plugins"]["proc"].get("behaviour")
    assert ray is not None, "no behaviour relayed from the Ray node"
    net = ray["kinds"]["network"]
    assert net["attempts"] >= 4 and net["beyond_manifest"] == net["attempts"]  # 4 batches
    assert net["refused"] >= 1
    assert any("127.0.0.1:9" in s["what"] for s in net["samples"])
    assert any("declares no network" in f for f in ray["flags"])
    assert ray["kinds"]["network"] == local["kinds"]["network"]  # the same as locally
    assert ray["flags"] == local["flags"]


HOG = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        if any(r.id == "hog" for r in batch):
            hog = []
            while True:
                hog.append(bytearray(8 * 1024 * 1024))
        return batch
"""
SPIN = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        while True:
            pass
"""


def _plugin(plugins: Path, name: str, code: str) -> None:
    folder = plugins / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "processor"\nentry = "plugin:P"\n'
    )
    (folder / "plugin.py").write_text(code)


def test_quotas_on_ray_are_wf403_with_the_node_figures(
    tmp_path: Path, ray_cluster: str, wiseflow_manager: Any
) -> None:
    """As locally (tests/resilience): WF403 naming the 160 MB limit and the peak address
    space, measured on the node (the host has no pid to read it from); and WF403 naming the
    1 s CPU quota, with the CPU the node sampled."""
    from wiseflow._policy._operator import OperatorConfig, PluginPolicy

    _plugin(tmp_path / "plugins", "hog", HOG)
    _plugin(tmp_path / "plugins", "spin", SPIN)
    pols = {
        "hog": PluginPolicy(resources={"memory_mb": 160, "soft_memory_mb": 160}),
        "spin": PluginPolicy(resources={"cpu_seconds": 1}),
    }
    with ray_executor(ray_cluster):
        pm = wiseflow_manager(
            plugin_dirs=[tmp_path / "plugins"],
            level="sandboxed",
            config=OperatorConfig(plugins=pols),
        )
        handle, spin = pm.start("hog"), pm.start("spin")
    assert isinstance(handle.runner, RayRunner) and handle.runner.memory_mb == 160
    ok = Record(id="ok", source="s", title="t")
    assert handle.process([ok]) == [ok]
    assert handle.describe(sample=True)["resources"]["memory_mb"] > 5  # metered on the node
    with pytest.raises(QuotaExceeded) as info:
        handle.process([ok, ok.replace(id="hog")])
    msg = info.value.message
    assert info.value.code == "WF403" and "160 MB" in msg and "reached: peak address space" in msg
    peak = float(msg.split("peak address space ")[1].split(" MB")[0])
    assert 0.9 * 160 <= peak <= 160

    assert isinstance(spin.runner, RayRunner)
    with pytest.raises(QuotaExceeded) as info:
        spin.process([ok])
    msg = info.value.message
    assert info.value.code == "WF403" and "CPU quota (1 s)" in msg and "reached: 1 s of CPU" in msg


def _runner(tmp_path: Path, code: str) -> RayRunner:
    _plugin(tmp_path / "plugins", "up", code)
    folder, data = tmp_path / "plugins" / "up", tmp_path / "data"
    data.mkdir()
    spec = RunnerSpec(
        instance="up", manifest=load_manifest(folder), code_root=str(folder),
        data_dir=str(data), level="sandboxed",
    )  # fmt: skip
    return RayRunner(spec, Broker("up", Effective(), data_dir=str(data)))


# spins until the host writes "stop" into its data dir (a condition, not a duration)
SPIN_UNTIL = """\
import os
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        stop = os.path.join(self.ctx.data_dir, "stop")
        while not os.path.exists(stop):
            sum(range(10_000))
        return batch
"""


def test_figures_stay_live_during_a_long_batch(tmp_path: Path, ray_cluster: str) -> None:
    """While a batch runs on the node, the host's meter asks the node itself (no event
    comes back meanwhile) and sees the worker's CPU grow."""
    runner = _runner(tmp_path, SPIN_UNTIL)
    meter = PluginMeter(in_process=False, pid=runner.pid, remote=runner.remote_sample)
    try:
        runner.load()
        runner.initialize({})
        done = threading.Event()
        batch = [Record(id="a", source="s", title="t")]
        call = threading.Thread(
            target=lambda: (runner.call("process", [batch], 120.0), done.set()), daemon=True
        )
        call.start()
        deadline = time.monotonic() + 120
        seen = []
        while not seen or seen[-1] < 0.5:  # half a CPU second in, mid-batch
            assert time.monotonic() < deadline and not done.is_set(), seen
            runner._sampled_at = -FRESH_S  # as if a second had passed: ask the node now
            got = meter.sample()
            seen.append(got.cpu_s if got is not None else 0.0)
            done.wait(0.05)  # not a synchronisation: spares the CPU the worker is using
        assert not done.is_set()  # these figures came while the batch was running
        assert meter.to_dict()["cpu_s"] >= 0.5
        (tmp_path / "data" / "stop").write_text("")
        call.join(timeout=120)
        assert done.is_set()
    finally:
        (tmp_path / "data" / "stop").write_text("")
        runner.close()


@pytest.fixture
def ray_runner(tmp_path: Path, ray_cluster: str) -> Iterator[RayRunner]:
    """A loaded RayRunner with one call made (so it holds a real sample from its node)."""
    runner = _runner(tmp_path, UPPER)
    try:
        runner.load()
        runner.initialize({})
        runner.call("process", [[Record(id="a", source="s", title="t")]], None)
        yield runner
    finally:
        runner.close()


GOOD = {"pid": 4242, "rss": 50 << 20, "cpu_s": 1.5, "fds": 9, "threads": 2, "uss": None}
HOSTILE_SAMPLES = [
    {**GOOD, "cpu_s": math.nan},
    {**GOOD, "cpu_s": math.inf},
    {**GOOD, "cpu_s": -3.0},
    {**GOOD, "rss": -1},
    {**GOOD, "rss": 1 << 62},  # 4 EiB
    {**GOOD, "rss": 1e300},
    {**GOOD, "fds": "9"},
    {**GOOD, "threads": True},
    {**GOOD, "pid": 0},
    {**GOOD, "uss": -5},
    {**GOOD, "children": 10**30},
    {k: v for k, v in GOOD.items() if k != "rss"},
    "not a sample",
    [1, 2, 3],
]


def _frame(**kw: Any) -> bytes:
    return msgspec.msgpack.encode(Telemetry(**kw))


def test_hostile_figures_at_the_relay_boundary_are_refused(ray_runner: RayRunner) -> None:
    soft: list[tuple[str, float]] = []
    meter = PluginMeter(
        in_process=False,
        pid=ray_runner.pid,
        remote=ray_runner.remote_sample,
        soft=SoftLimits({"memory_mb": 400.0, "cpu_s": 100.0, "fds": 500.0}),
        on_soft=lambda res, value, limit, hard: soft.append((res, value)),
    )
    real = meter.sample()
    assert real is not None and real.pid > 1 and real.rss > 5 << 20  # the node's worker
    start = dict(ray_runner.refused)

    # control: the same numbers taken as they are (no validation) cross every soft limit
    # and make a document that is not JSON
    bare = PluginMeter(
        in_process=False, pid=lambda: None,
        remote=lambda full: ProcessSample(1, 1 << 62, math.inf, 10**9, 1),
        soft=SoftLimits({"memory_mb": 400.0, "cpu_s": 100.0, "fds": 500.0}),
        on_soft=lambda res, value, limit, hard: soft.append((res, value)),
    )  # fmt: skip
    bare.sample()
    assert {r for r, _ in soft} == {"memory_mb", "cpu_s", "fds"}
    with pytest.raises(ValueError):
        json.dumps(bare.to_dict(), allow_nan=False)
    soft.clear()

    for raw in HOSTILE_SAMPLES:  # each as the sample of an event, then as an asked-for one
        ray_runner._take({"sample": raw, "telemetry": [], "peaks": {"VmPeak": math.nan}})
        ray_runner._keep_sample(raw)
        got = meter.sample()
        assert got is not None and got.pid == real.pid  # the node's real figures stay
        assert 0 <= got.cpu_s < 1e4 and 0 < got.rss < 1 << 40
        assert 0 <= got.fds < 1 << 16 and 0 <= got.threads < 1 << 16
        assert ray_runner.remote_peaks() == {}
    assert ray_runner.refused["samples"] - start["samples"] == 2 * len(HOSTILE_SAMPLES)
    ray_runner._take("not a dict")
    assert ray_runner.refused["samples"] - start["samples"] == 2 * len(HOSTILE_SAMPLES) + 1
    assert soft == []  # no soft limit fired on a forged figure
    json.dumps(meter.to_dict(), allow_nan=False)

    # peaks: only known keys with plausible values reach a WF403 message
    ray_runner._take({"sample": None, "peaks": {"VmPeak": 150.5, "VmHWM": 1e300, "evil": 1}})
    assert ray_runner.remote_peaks() == {"VmPeak": 150.5}
    figure = quota_figure("memory quota (160 MB) reached", None, ray_runner, meter)
    assert figure.startswith("reached: peak address space 150.5 MB")

    # telemetry: decoded against the bounded wire type; junk refused, floods cut
    flood = [_frame(counts={"network": 1}) for _ in range(FRAMES + 50)]
    junk = ["text", b"\xc1not msgpack", b"x" * (1 << 20), _frame(counts={"network": -1})[:5]]
    forged = _frame(
        counts={"network": 1 << 62, "bogus": 5},
        samples={"network": [["connect " + "x" * 290, "t", "pwned"]] * 8},
    )
    before = ray_runner.refused["telemetry"]
    ray_runner._take({"sample": None, "telemetry": [*junk, forged]})
    ray_runner._take({"sample": None, "telemetry": flood})
    assert ray_runner.refused["telemetry"] - before == len(junk) + 50
    summary = ray_runner.behaviour.to_dict()
    assert summary is not None and "bogus" not in summary["kinds"]
    net = summary["kinds"]["network"]
    assert net["attempts"] == 1 << 53  # capped: an exact JSON number
    assert len(net["samples"]) <= SAMPLES
    assert all(len(s["what"]) <= 240 and s["outcome"] == "attempted" for s in net["samples"])
    json.dumps(summary, allow_nan=False)
