"""One plugin-instance core: the same plugin behaves the same at every level.

The same plugin folder runs through the in-process runner (level trusted), a real
sandboxed worker process and a local stage, each behind a PluginHandle; every outcome
(values, streamed items, error codes) must be the same. The core's own rules are in
``test_instance.py``.
"""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wiseflow import (
    Checkpoint,
    PluginError,
    Record,
    SkipRecord,
    WiseflowError,
    load_manifest,
)
from wiseflow._host._handle import PluginHandle
from wiseflow._host._inprocess import InProcessRunner
from wiseflow._host._lifecycle import EventBus, Lifecycle, PluginState
from wiseflow._host._runner import RunnerSpec
from wiseflow._pipeline import LocalBackend, LocalStage
from wiseflow._policy._broker import Broker
from wiseflow._policy._grants import Effective
from wiseflow._sandbox._runner import WorkerRunner

PLUGIN = """
import asyncio
from wiseflow import Checkpoint, ConnectorPlugin, Record


class Same(ConnectorPlugin):
    def fetch(self, state):
        for i in range(3):
            yield Record(id=f"s{i}", source="same", title=f"t{i}")
        yield Checkpoint(state={"n": 3})

    async def afetch(self, state):
        for i in range(3):
            await asyncio.sleep(0)
            yield Record(id=f"a{i}", source="same")
        yield Checkpoint(state={"n": 3})

    def double(self, x):
        return {"twice": x * 2}

    async def adouble(self, x):
        await asyncio.sleep(0)
        return {"twice": x * 2}

    async def hang(self):
        await asyncio.sleep(3600)

    def boom(self):
        raise ValueError("boom")

    def broken(self):
        bad = Record(id="bad", source="same")
        bad.data["x"] = object()  # changed in place: the constructor never saw it
        return [bad]

    def broken_stream(self, state):
        yield Record(id="ok", source="same")
        bad = Record(id="bad", source="same")
        bad.data["x"] = object()
        yield bad
        yield Record(id="ok2", source="same")

    async def endless(self, state):
        try:
            i = 0
            while True:
                i += 1
                yield Record(id=f"e{i}", source="same")
        finally:
            (self.ctx.data_dir / "closed").write_text("yes")

    def stalls(self, state):
        import time
        time.sleep(0.1)  # a slow page
        yield Record(id="late", source="same")
        time.sleep(3600)  # the next page never comes
        yield Record(id="never", source="same")

    def fails_midway(self, state):
        yield Record(id="m0", source="same")
        yield Record(id="m1", source="same")
        raise ValueError("midway")
"""

LEVELS = ("trusted", "sandboxed", "local")


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins" / "same"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "same"\nversion = "1.0.0"\nkind = "connector"\nentry = "plugin:Same"\n'
    )
    (folder / "plugin.py").write_text(textwrap.dedent(PLUGIN))
    return folder


def _local(folder: Path, data: Path) -> PluginHandle:
    """A local stage over an object of the same class (imported from the same file)."""
    spec = importlib.util.spec_from_file_location("same_plugin_for_local", folder / "plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return LocalStage(
        module.Same(),
        name="same",
        plugin="same",
        config={},
        data_dir=data,
        backend=LocalBackend("same"),
    )


def _handle(level: str, folder: Path, data: Path) -> PluginHandle:
    if level == "local":
        return _local(folder, data)
    data.mkdir(parents=True, exist_ok=True)
    spec = RunnerSpec(
        instance="same",
        manifest=load_manifest(folder),
        code_root=str(folder),
        data_dir=str(data),
        level=level,
        root=str(folder),
    )
    broker = Broker("same", Effective(), data_dir=str(data))
    runner: Any = (
        InProcessRunner(spec, broker) if level == "trusted" else WorkerRunner(spec, broker)
    )
    lifecycle = Lifecycle("same", EventBus())
    handle = PluginHandle(
        instance="same",
        manifest=spec.manifest,
        origin="dir",
        level=level,
        runner=runner,
        lifecycle=lifecycle,
        timeout_s=spec.limits.timeout_s,
        broker=broker,
    )
    runner.load()
    lifecycle.transition(PluginState.LOADED)
    handle.initialize({})
    lifecycle.transition(PluginState.INITIALIZED)
    lifecycle.transition(PluginState.ACTIVE)
    return handle


@pytest.fixture
def handles(tmp_path: Path) -> Iterator[dict[str, PluginHandle]]:
    """The same plugin at each level, each behind its own handle."""
    folder = _folder(tmp_path)
    made: dict[str, PluginHandle] = {}
    try:
        for level in LEVELS:
            made[level] = _handle(level, folder, tmp_path / "data" / level)
        yield made
    finally:
        for h in made.values():
            h.close()


def _outcome(call: Any) -> Any:
    """What a call came to: its value, or its error's code (and type)."""
    try:
        return ("ok", call())
    except WiseflowError as exc:
        return ("error", type(exc).__name__, exc.code)


def _same(handles: dict[str, PluginHandle], call: Any) -> Any:
    outcomes = {level: _outcome(lambda h=h: call(h)) for level, h in handles.items()}
    assert len({repr(o) for o in outcomes.values()}) == 1, outcomes
    return outcomes["trusted"]


def test_sync_and_async_calls_give_the_same_values_at_every_level(
    handles: dict[str, PluginHandle],
) -> None:
    """A plain method and a coroutine return the same value trusted, sandboxed and local."""
    assert _same(handles, lambda h: h.invoke("double", 21)) == ("ok", {"twice": 42})
    assert _same(handles, lambda h: h.invoke("adouble", 21)) == ("ok", {"twice": 42})


def test_sync_and_async_streams_yield_the_same_items_at_every_level(
    handles: dict[str, PluginHandle],
) -> None:
    """A generator and an async generator stream the same records and checkpoint."""
    want = [Record(id=f"s{i}", source="same", title=f"t{i}") for i in range(3)]
    assert _same(handles, lambda h: list(h.stream("fetch", None))) == (
        "ok",
        [*want, Checkpoint(state={"n": 3})],
    )
    out = _same(handles, lambda h: list(h.stream("afetch", None)))
    assert out[1][-1] == Checkpoint(state={"n": 3})
    assert [r.id for r in out[1][:-1]] == ["a0", "a1", "a2"]


def test_a_raising_method_is_the_same_plugin_failure_at_every_level(
    handles: dict[str, PluginHandle],
) -> None:
    """An exception out of plugin code is WF400 (the plugin's failure) at every level."""
    assert _same(handles, lambda h: h.invoke("boom")) == ("error", "PluginError", "WF400")
    assert all(h.state is PluginState.ACTIVE for h in handles.values())  # not fatal


def test_a_failing_stream_delivers_what_came_before_at_every_level(
    handles: dict[str, PluginHandle],
) -> None:
    """The records a stream yielded before it failed arrive first, then WF400."""
    for level, h in handles.items():
        got: list[str] = []
        with pytest.raises(PluginError) as info:
            for item in h.stream("fails_midway", None):
                got.append(item.id)
        assert got == ["m0", "m1"], level
        assert info.value.code == "WF400"
        assert "midway" in info.value.message


def test_a_stream_stopped_early_closes_the_plugins_generator_at_every_level(
    handles: dict[str, PluginHandle], tmp_path: Path
) -> None:
    """Stopping an endless async generator early runs its ``finally`` at every level."""
    for level, h in handles.items():
        stream = h.stream("endless", None)
        assert next(stream).id == "e1"
        stream.close()
        assert (tmp_path / "data" / level / "closed").read_text() == "yes", level


def test_a_record_breaking_the_contract_is_refused_alike_at_every_level(
    handles: dict[str, PluginHandle],
) -> None:
    """Returned: the call fails with WF400; streamed: that record alone is a WF406 refusal."""
    assert _same(handles, lambda h: h.invoke("broken")) == ("error", "PluginError", "WF400")

    def stream(h: PluginHandle) -> list[tuple[str, str, str]]:
        return [
            (type(i).__name__, getattr(i, "id", "") or getattr(i, "record_id", ""), i.code)
            if isinstance(i, SkipRecord)
            else (type(i).__name__, i.id, "")
            for i in h.stream("broken_stream", None)
        ]

    assert _same(handles, stream) == (
        "ok",
        [("Record", "ok", ""), ("SkipRecord", "bad", "WF406"), ("Record", "ok2", "")],
    )


def test_a_coroutine_past_its_timeout_is_wf401_at_every_level(
    handles: dict[str, PluginHandle],
) -> None:
    """An async method running past the call's timeout is cancelled (or killed): WF401."""
    for h in handles.values():
        h.timeout_s = 0.5
    assert _same(handles, lambda h: h.invoke("hang")) == ("error", "PluginTimeout", "WF401")
    assert all(h.state is PluginState.ERROR for h in handles.values())  # a fatal failure


def test_a_sandboxed_source_that_stalls_delivers_what_it_yielded_before(
    handles: dict[str, PluginHandle],
) -> None:
    """A record the plugin yielded reaches the host before the plugin stalls: the worker
    does not hold it back waiting for the next item (the host's deadline would then end
    the stream with WF401 and the record would be lost)."""
    chunks = handles["sandboxed"].runner.chunks("stalls", [None], 10.0)
    try:
        assert [r.id for r in next(chunks)] == ["late"]
    finally:
        chunks.close()  # cancels the stream; the stalled worker is stopped
