"""PluginManager: lifecycle through handles, one dispatch point, no deadlocks, no globals."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from wiseflow import (
    AnalyzerPlugin,
    Checkpoint,
    ConfigError,
    ConnectorPlugin,
    PluginContext,
    PluginError,
    PluginManager,
    PluginState,
    ProcessorPlugin,
    Record,
    RuntimeFailure,
)
from wiseflow.testing import run_plugin

S = PluginState


class Upper(ProcessorPlugin):
    name = "upper-test"
    shutdowns = 0

    def process(self, batch: list[Record]) -> list[Record]:
        return [r.replace(title=r.title.upper()) for r in batch]

    def shutdown(self) -> None:
        type(self).shutdowns += 1


class AsyncCounter(AnalyzerPlugin):
    name = "async-counter"

    class Config(msgspec.Struct):
        scale: int = 1

    async def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.n = 0

    async def analyze(self, batch: list[Record]) -> None:
        self.n += len(batch) * self.ctx.config.scale

    async def result(self) -> dict[str, Any]:
        return {"n": self.n}


class AsyncSource(ConnectorPlugin):
    name = "async-source"

    async def fetch(self, state: dict[str, Any] | None) -> AsyncIterator[Record | Checkpoint]:
        for i in range(3):
            yield Record(id=str(i), source=self.ctx.name)
        yield Checkpoint(state={"done": 3})


def recs(n: int) -> list[Record]:
    return [Record(id=str(i), source="t", title=f"t{i}") for i in range(n)]


def test_start_runs_load_initialize_activate_and_publishes_events(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """start() walks LOADED → INITIALIZED → ACTIVE; each step is an event in order."""
    pm = wiseflow_manager(Upper)
    seen: list[str] = []
    pm.events.subscribe(lambda e: seen.append(f"{e.event}:{e.new}"))
    handle = pm.start("upper-test")
    assert handle.state is S.ACTIVE
    assert seen == ["load:LOADED", "initialize:INITIALIZED", "activate:ACTIVE"]
    assert [r.title for r in handle.process(recs(2))] == ["T0", "T1"]
    assert handle.stats.calls == 1 and handle.stats.records_in == 2
    pm.close()
    assert handle.state is S.UNLOADED
    assert seen[-1] == "shutdown:UNLOADED"


def test_async_plugins_are_awaited_and_async_iterators_iterated() -> None:
    """Async initialize/analyze/result and async-generator fetch work through the host."""
    out = run_plugin(AsyncCounter, {"scale": 2}, records=recs(5))
    assert out.result == {"n": 10}
    src = run_plugin(AsyncSource)
    assert [r.id for r in src.records] == ["0", "1", "2"]
    assert src.checkpoints == [Checkpoint(state={"done": 3})]


def test_bad_config_is_wf105_and_leaves_plugin_loaded(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """A config error names the field; the plugin stays LOADED so it can be retried."""
    pm = wiseflow_manager(AsyncCounter)
    with pytest.raises(ConfigError) as info:
        pm.start("async-counter", {"scale": "big", "extra": 1})
    assert {p.message.split(":")[0] for p in info.value.problems} == {
        "config.extra",
        "config.scale",
    }
    assert pm.get("async-counter").state is S.LOADED
    pm.initialize("async-counter", {"scale": 3})
    assert pm.activate("async-counter").state is S.ACTIVE


def test_failing_initialize_puts_plugin_in_error_and_enable_recovers(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """An exception in initialize → ERROR with WF400; enable() restarts it cleanly."""
    attempts: list[int] = []

    class Flaky(ProcessorPlugin):
        name = "flaky"

        def initialize(self, ctx: PluginContext) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise OSError("disk not ready")
            self.ctx = ctx

        def process(self, batch: list[Record]) -> list[Record]:
            return batch

    pm = wiseflow_manager(Flaky)
    with pytest.raises(PluginError) as info:
        pm.start("flaky")
    assert info.value.code == "WF400" and "disk not ready" in info.value.message
    assert pm.get("flaky").state is S.ERROR
    handle = pm.enable("flaky")
    assert handle.state is S.ACTIVE
    assert handle.process(recs(1)) == recs(1)


def test_disabled_plugin_refuses_calls_until_enabled(tmp_path: Path, wiseflow_manager: Any) -> None:
    """Calls on a DISABLED plugin fail with WF405; enable() restores them."""
    pm = wiseflow_manager(Upper)
    pm.start("upper-test")
    pm.disable("upper-test")
    with pytest.raises(RuntimeFailure) as info:
        pm.get("upper-test").process(recs(1))
    assert info.value.code == "WF405"
    assert pm.get("upper-test").health() == {"ok": True}  # health stays callable
    pm.enable("upper-test")
    assert pm.get("upper-test").process(recs(1))[0].title == "T0"


def test_shutdown_and_uninstall_release_the_plugin(tmp_path: Path, wiseflow_manager: Any) -> None:
    """shutdown() calls the plugin's shutdown once; uninstall() forgets it and its subscriptions."""
    Upper.shutdowns = 0
    pm = wiseflow_manager(Upper)
    pm.start("upper-test")
    pm.events.subscribe(lambda e: None, plugin="upper-test")
    pm.shutdown("upper-test")
    pm.shutdown("upper-test")  # idempotent
    assert Upper.shutdowns == 1
    pm.uninstall("upper-test")
    assert "upper-test" not in pm
    assert len(pm.events) == 0
    assert pm.handles() == []


def test_plugin_calling_back_into_manager_from_initialize_does_not_deadlock(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """initialize() may start and call another plugin through the same manager."""
    holder: dict[str, PluginManager] = {}

    class Caller(ProcessorPlugin):
        name = "caller"

        def initialize(self, ctx: PluginContext) -> None:
            self.ctx = ctx
            pm = holder["pm"]
            other = pm.start("upper-test")
            self.greeting = other.process(recs(1))[0].title
            # and from another thread, as plugins sometimes do
            t = threading.Thread(target=lambda: pm.handles())
            t.start()
            t.join(5)
            assert not t.is_alive()

        def process(self, batch: list[Record]) -> list[Record]:
            return [r.replace(title=self.greeting) for r in batch]

    pm = wiseflow_manager(Upper, Caller)
    holder["pm"] = pm
    done = threading.Event()
    result: list[str] = []

    def go() -> None:
        result.append(pm.start("caller").process(recs(1))[0].title)
        done.set()

    threading.Thread(target=go, daemon=True).start()
    assert done.wait(10), "manager deadlocked"
    assert result == ["T0"]


def test_managers_share_nothing(tmp_path: Path, wiseflow_manager: Any) -> None:
    """Two managers have separate registries and buses."""
    a = wiseflow_manager(Upper)
    b = wiseflow_manager(Upper)
    a.start("upper-test")
    assert "upper-test" in a and "upper-test" not in b
    assert a.events is not b.events
    a.close()


def _write_plugin(root: Path, name: str, kind: str, body: str, extra: str = "") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    cls = "P"
    (folder / "plugin.toml").write_text(
        textwrap.dedent(
            f"""\
            [plugin]
            name = "{name}"
            version = "1.0.0"
            kind = "{kind}"
            entry = "plugin:{cls}"
            """
        )
        + extra
    )
    (folder / "plugin.py").write_text(textwrap.dedent(body))
    return folder


PROC = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.annotate("{tag}", True) for r in batch]
"""


def test_folder_plugins_with_same_module_name_do_not_collide(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """Two folder plugins both named plugin.py load side by side, each its own code."""
    _write_plugin(tmp_path, "one", "processor", PROC.replace("{tag}", "one"))
    _write_plugin(tmp_path, "two", "processor", PROC.replace("{tag}", "two"))
    pm = wiseflow_manager(plugin_dirs=[tmp_path], level="trusted")
    a = pm.start("one").process(recs(1))[0]
    b = pm.start("two").process(recs(1))[0]
    assert (a.annotations, b.annotations) == ({"one": True}, {"two": True})
    assert [h.name for h in pm.handles(kind="processor")] == ["one", "two"]
    pm.close()


def test_list_still_answers_but_is_deprecated(tmp_path: Path, wiseflow_manager: Any) -> None:
    """``pm.list()`` (documented before ``handles()``) gives the same, with a warning."""
    _write_plugin(tmp_path, "one", "processor", PROC.replace("{tag}", "one"))
    pm = wiseflow_manager(plugin_dirs=[tmp_path], level="trusted")
    pm.start("one")
    with pytest.warns(DeprecationWarning, match="use PluginManager.handles"):
        listed = pm.list(kind="processor")
    assert listed == pm.handles(kind="processor") and len(listed) == 1


def test_dependencies_load_first_and_are_called_through_the_host(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """A plugin requiring another gets its own instance of it, started first, reached via
    ctx.plugin(); a pipeline stage of the same plugin is a different instance."""
    _write_plugin(tmp_path, "base", "processor", PROC.replace("{tag}", "base"))
    _write_plugin(
        tmp_path,
        "top",
        "processor",
        """\
        from wiseflow import ProcessorPlugin

        class P(ProcessorPlugin):
            def process(self, batch):
                return self.ctx.plugin("base").process(batch)
        """,
        '[plugin.requires]\nbase = ">=1"\n',
    )
    pm = wiseflow_manager(plugin_dirs=[tmp_path], level="trusted")
    stage = pm.start("base")
    top = pm.start("top")
    assert [h.name for h in pm.handles()] == ["base", "base@top", "top"]
    assert top.process(recs(1))[0].annotations == {"base": True}
    assert pm.get("base@top").stats.calls == 1 and stage.stats.calls == 0
    order: list[str] = []
    pm.events.subscribe(lambda e: order.append(e.plugin))
    pm.close()
    assert order == ["top", "base@top", "base"]


def test_undeclared_dependency_call_is_permission_denied(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """ctx.plugin() on a plugin not in [plugin.requires] raises WF301."""
    _write_plugin(tmp_path, "base", "processor", PROC.replace("{tag}", "base"))
    _write_plugin(
        tmp_path,
        "sneaky",
        "processor",
        """\
        from wiseflow import ProcessorPlugin

        class P(ProcessorPlugin):
            def process(self, batch):
                return self.ctx.plugin("base").process(batch)
        """,
    )
    pm = wiseflow_manager(plugin_dirs=[tmp_path], level="trusted")
    pm.start("base")
    with pytest.raises(Exception) as info:
        pm.start("sneaky").process(recs(1))
    assert getattr(info.value, "code", None) == "WF301"
    pm.close()


def test_missing_dependency_is_wf201_before_any_code_runs(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """Loading a plugin whose requirement is absent fails with WF201 naming it."""
    _write_plugin(
        tmp_path,
        "needy",
        "processor",
        "raise RuntimeError('must not be imported')\n",
        '[plugin.requires]\nghost = ">=2"\n',
    )
    pm = wiseflow_manager(plugin_dirs=[tmp_path], level="trusted")
    with pytest.raises(Exception) as info:
        pm.load("needy")
    assert getattr(info.value, "code", None) == "WF201"
    assert "ghost" in str(info.value)


def test_connector_stream_goes_through_the_handle(tmp_path: Path, wiseflow_manager: Any) -> None:
    """fetch() is streamed through the handle and counted."""
    pm = wiseflow_manager(AsyncSource)
    handle = pm.start("async-source")
    items: Iterator[Any] = handle.fetch(None)
    assert len(list(items)) == 4
    assert handle.stats.records_out == 4


def test_relative_data_dir_still_loads_sandboxed_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative data_dir is made absolute: a bundled plugin loads and runs in its worker."""
    from wiseflow import PluginManager

    monkeypatch.chdir(tmp_path)
    with PluginManager(data_dir="state", level="sandboxed", cache=False) as pm:
        assert pm.data_dir == tmp_path / "state"
        handle = pm.start("hello", {"count": 2})
        assert [r.id for r in handle.fetch(None) if isinstance(r, Record)] == ["0", "1"]
