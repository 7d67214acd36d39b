"""A trusted call's direct path: once a method was called, ``PluginHandle.invoke`` calls the
plugin's method itself (no runner, no meter frame) and keeps every guarantee of the first,
ordinary call: exact counts, the breaker, error codes, screened results, the output ceiling,
timeouts, adopted threads, the data-dir guard, state checks, a recovered object."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from wiseflow import ProcessorPlugin, Record, WiseflowError
from wiseflow._contract._verdict import is_plugin_made
from wiseflow._host._handle import PluginHandle
from wiseflow._host._lifecycle import PluginState
from wiseflow._policy._operator import Breaker, OperatorConfig, PluginPolicy, Policy

GATE = threading.Event()  # what a thread started by Direct.spawn waits for


class Direct(ProcessorPlugin):
    name = "direct"

    def initialize(self, ctx: Any) -> None:
        self.ctx = ctx
        self.failing = False
        self.entered = 0  # how often a failing method's body ran

    def process(self, batch: list[Record]) -> list[Record]:
        n = int(batch[0].data.get("times", 1)) if batch else 0
        return [Record(id=f"{r.id}-{i}", source="direct") for r in batch for i in range(n)]

    def ping(self, x: Any) -> Any:
        return x

    def whoami(self) -> int:
        return id(self)

    def flaky(self) -> str:
        self.entered += 1
        if self.failing:
            raise ValueError("flaky is failing")
        return "ok"

    def boom(self) -> None:
        raise ValueError("boom")

    def interrupt(self, now: bool) -> str:
        if now:
            raise KeyboardInterrupt
        return "not yet"

    def broken(self) -> list[Record]:
        bad = Record(id="bad", source="direct")
        bad.data["x"] = object()  # changed in place: the constructor never saw it
        return [bad]

    async def nap(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "rested"

    def spawn(self) -> str:
        threading.Thread(target=GATE.wait, args=(60,), name="direct-helper").start()
        return "started"

    def fill(self, files: int) -> int:
        for i in range(files):
            (self.ctx.data_dir / f"f{i}").write_text("x")
        return files


def _config(**policy: Any) -> OperatorConfig:
    return OperatorConfig(
        policy=Policy(**policy),
        plugins={"direct": PluginPolicy(breaker=Breaker(failures=3, reset_s=600))},
    )


@pytest.fixture
def direct(wiseflow_manager: Any) -> PluginHandle:
    handle: PluginHandle = wiseflow_manager(Direct, config=_config()).start("direct")
    return handle


def _through_runner(handle: PluginHandle) -> list[str]:
    """The methods that go on reaching the runner (the ordinary path) from now on."""
    seen: list[str] = []
    runner: Any = handle.runner
    real = runner.call

    def spy(method: str, args: Any, timeout: float | None) -> Any:
        seen.append(method)
        return real(method, args, timeout)

    runner.call = spy
    return seen


def _outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("ok", call())
    except WiseflowError as exc:
        message = re.sub(r" at 0x[0-9a-f]+", "", exc.message)  # an object's address
        return ("error", type(exc).__name__, exc.code, message, is_plugin_made(exc))


def test_a_warm_call_skips_the_runner_and_every_call_is_counted(direct: PluginHandle) -> None:
    """After its first call a method is called directly; calls, latencies and CPU stay exact."""
    seen = _through_runner(direct)
    for i in range(200):
        assert direct.invoke("ping", i) == i
    assert seen == ["ping"]  # the first call only
    assert direct.stats.calls == 200 and len(direct.stats.latencies) == 200
    assert 0 < direct.meter.thread_cpu <= sum(direct.stats.latencies)


@pytest.mark.parametrize("method", ["boom", "broken"])
def test_a_warm_call_fails_exactly_as_the_first_one(direct: PluginHandle, method: str) -> None:
    """The plugin's exception (WF400, the plugin's) and a record breaking the contract
    (refused by the host) come out of the direct path with the same type, code, message
    and verdict as out of the first call."""
    seen = _through_runner(direct)
    first = _outcome(lambda: direct.invoke(method))
    assert direct.invoke("ping", 1) == 1  # a success: the breaker has nothing more to hear
    warm = _outcome(lambda: direct.invoke(method))
    assert first == warm and first[:3] == ("error", "PluginError", "WF400"), (first, warm)
    assert seen == [method, "ping"]  # the second call of the method went direct
    assert direct.stats.errors == 2 and direct.state is PluginState.ACTIVE


def test_an_interrupted_warm_call_passes_through_without_a_verdict(direct: PluginHandle) -> None:
    """Ctrl-C inside a plugin on the direct path reaches the caller as it is: no error
    counted, no breaker failure, the plugin still ACTIVE, the call's latency kept."""
    assert direct.invoke("interrupt", False) == "not yet"
    with pytest.raises(KeyboardInterrupt):
        direct.invoke("interrupt", True)
    assert direct.stats.errors == 0 and direct.state is PluginState.ACTIVE
    assert direct.breaker is not None and direct.breaker.clean
    assert direct.stats.calls == 2 and len(direct.stats.latencies) == 2


def test_warm_failures_open_the_breaker_and_then_calls_fail_fast(direct: PluginHandle) -> None:
    """Three failures on the direct path open the breaker (failures = 3): the fourth call
    is WF404 without entering the plugin."""
    assert direct.invoke("flaky") == "ok"  # warm
    plugin = _plugin(direct)
    plugin.failing = True
    for _ in range(3):
        assert _outcome(lambda: direct.invoke("flaky"))[2] == "WF400"
    assert _outcome(lambda: direct.invoke("flaky"))[2] == "WF404"
    assert plugin.entered == 4  # the warm call and three failures: the fast-failed one never ran


def test_positive_control_a_success_between_failures_keeps_the_breaker_closed(
    direct: PluginHandle,
) -> None:
    """Two failures, a success, two failures: never three in a row, the breaker stays closed
    and the next call runs (the success reset the count, though it took the direct path)."""
    assert direct.invoke("flaky") == "ok"
    plugin = _plugin(direct)
    for failing in (True, True, False, True, True, False):
        plugin.failing = failing
        _outcome(lambda: direct.invoke("flaky"))
    assert direct.breaker is not None and direct.breaker.state_.value == "closed"
    assert direct.invoke("flaky") == "ok"


def test_a_warm_process_past_its_output_ceiling_is_wf403_and_the_plugin_is_out(
    direct: PluginHandle,
) -> None:
    """101 records for 1 (max_output_ratio 100) on the direct path: WF403, the host's, ERROR;
    100 for 1 just before (the positive control) goes through."""
    assert len(direct.process([Record(id="a", source="s", data={"times": 100})])) == 100
    err = _outcome(lambda: direct.process([Record(id="b", source="s", data={"times": 101})]))
    assert err[1:3] == ("QuotaExceeded", "WF403") and err[4] is False, err
    assert direct.state is PluginState.ERROR


def test_a_warm_coroutine_past_its_timeout_is_wf401(direct: PluginHandle) -> None:
    """An async method is awaited on the direct path too, and cancelled at the timeout."""
    assert direct.invoke("nap", 0) == "rested"  # warm, within any timeout
    direct.timeout_s = 0.3
    assert _outcome(lambda: direct.invoke("nap", 3600))[1:3] == ("PluginTimeout", "WF401")
    assert direct.state is PluginState.ERROR


def test_a_thread_started_by_a_warm_call_is_adopted(direct: PluginHandle) -> None:
    """The plugin's thread is remembered (released at shutdown), as after a first call."""
    assert direct.invoke("ping", 1) == 1
    direct.invoke("spawn")  # first call of spawn: the ordinary path
    direct.invoke("spawn")  # the direct path
    try:
        assert [t.name for t in direct.threads.threads] == ["direct-helper"] * 2
    finally:
        GATE.set()
        for t in direct.threads.threads:
            t.join(60)
        GATE.clear()


def test_a_disabled_plugin_refuses_warm_calls_and_comes_back_with_a_new_object(
    wiseflow_manager: Any,
) -> None:
    """Disabled: the warm method is refused (WF405); enabled again, it runs on the fresh
    object, not on the one cached before."""
    pm = wiseflow_manager(Direct, config=_config())
    handle = pm.start("direct")
    before = handle.invoke("whoami")
    assert handle.invoke("whoami") == before  # warm
    pm.disable("direct")
    assert _outcome(lambda: handle.invoke("whoami"))[2] == "WF405"
    pm.enable("direct")
    assert handle.state is PluginState.ACTIVE
    assert handle.invoke("whoami") != before


@pytest.mark.parametrize("ceiling", [50, 1000], ids=["over", "positive-control"])
def test_a_warm_call_filling_the_data_dir_meets_the_guard(
    wiseflow_manager: Any, ceiling: int
) -> None:
    """300 files written on the direct path past max_data_files 50: WF403 after that call
    or the next one (scans are throttled); with the ceiling at 1000 nothing happens."""
    handle = wiseflow_manager(Direct, config=_config(max_data_files=ceiling)).start("direct")
    assert handle.invoke("fill", 0) == 0  # warm
    got = [_outcome(lambda: handle.invoke("fill", 300)), _outcome(lambda: handle.invoke("ping", 1))]
    if ceiling == 1000:
        assert got == [("ok", 300), ("ok", 1)]
        return
    hit = next((o for o in got if o[0] == "error"), None)
    assert hit is not None and hit[1:3] == ("QuotaExceeded", "WF403"), got
    assert "max_data_files 50" in hit[3]
    assert handle.state is PluginState.ERROR


def _plugin(handle: PluginHandle) -> Any:
    inst = getattr(handle.runner, "instance", None)
    assert inst is not None and inst.obj is not None
    return inst.obj
