"""The plugin-instance core's own rules (``wiseflow._contract._instance``): chunking, closing,
timeouts, refusals; and that it imports only the contract (the sandbox worker imports it).

That the same plugin behaves the same at every level is in ``test_instance_levels.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wiseflow import Checkpoint, ConnectorPlugin, PluginError, Record, SkipRecord
from wiseflow._contract._instance import CHUNK_SECONDS, PluginInstance
from wiseflow._contract._verdict import is_plugin_made
from wiseflow._host._inprocess import InProcessRunner
from wiseflow._host._runner import RunnerSpec
from wiseflow._pipeline import LocalBackend


class Many(ConnectorPlugin):
    """Yields ``n`` records, a checkpoint after the first ``cut``, then maybe fails."""

    def __init__(self, n: int = 1200, cut: int | None = None, fail: bool = False) -> None:
        self.n, self.cut, self.fail = n, cut, fail
        self.closed = False

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        try:
            for i in range(self.n):
                yield Record(id=str(i), source="m")
                if i + 1 == self.cut:
                    yield Checkpoint(state={"at": i})
            if self.fail:
                raise ValueError("after all")
        finally:
            self.closed = True

    async def aclosing(self, state: dict[str, Any] | None) -> Any:
        try:
            for i in range(self.n):
                yield Record(id=str(i), source="m")
        finally:
            self.closed = True

    async def own_timeout(self) -> None:
        raise TimeoutError("the plugin's own")


def _started(obj: Any, tmp_path: Path) -> PluginInstance:
    inst = PluginInstance(type(obj), name="m", plugin="m", kind="connector")
    inst.initialize({}, data_dir=tmp_path, backend=LocalBackend("m"), obj=obj)
    return inst


def test_chunks_end_at_the_size_and_at_each_checkpoint(tmp_path: Path) -> None:
    """Chunks hold at most ``size`` items and a checkpoint ends its chunk; order is kept."""
    inst = _started(Many(n=1200, cut=3), tmp_path)
    chunks = list(inst.chunks("fetch", [None], None, size=500, seconds=3600))
    assert [len(c) for c in chunks] == [4, 500, 500, 197]
    assert type(chunks[0][-1]) is Checkpoint
    ids = [r.id for c in chunks for r in c if type(r) is Record]
    assert ids == [str(i) for i in range(1200)]
    inst.shutdown()


def test_chunks_deliver_the_partial_chunk_before_the_failure(tmp_path: Path) -> None:
    """A stream failing mid-chunk hands on what it yielded, then raises."""
    inst = _started(Many(n=7, fail=True), tmp_path)
    it = inst.chunks("fetch", [None], None, size=500, seconds=3600)
    assert [r.id for r in next(it)] == [str(i) for i in range(7)]
    with pytest.raises(ValueError, match="after all"):
        next(it)
    inst.shutdown()


def test_closing_chunks_early_closes_the_plugins_iterators(tmp_path: Path) -> None:
    """Stopping early closes the plugin's generator, sync or async (its finally runs)."""
    for method in ("fetch", "aclosing"):
        obj = Many(n=10_000)
        inst = _started(obj, tmp_path)
        it = inst.chunks(method, [None], None, size=10, seconds=3600)
        assert len(next(it)) == 10
        it.close()
        assert obj.closed, method
        inst.shutdown()


def test_an_item_of_a_slow_source_is_handed_on_before_the_next_is_asked_for(
    tmp_path: Path,
) -> None:
    """An item that came CHUNK_SECONDS or more after the last hand-off goes on at once: it
    never waits in a chunk for an item the plugin has not made yet (so a slow page is not
    held until the next one, and a host's per-item deadline sees one wait, not two)."""
    received: list[str] = []
    seen: list[list[str]] = []

    class Slow(ConnectorPlugin):
        def fetch(self, state: dict[str, Any] | None) -> Iterator[Record]:
            time.sleep(2 * CHUNK_SECONDS)  # a slow page: its first item comes late
            yield Record(id="late", source="m")
            seen.append(list(received))  # what the consumer had when asked for more
            yield Record(id="next", source="m")

    inst = _started(Slow(), tmp_path)
    for chunk in inst.chunks("fetch", [None], None, size=500):
        received.extend(r.id for r in chunk)
    assert seen == [["late"]]
    assert received == ["late", "next"]
    inst.shutdown()


def test_a_plugins_own_timeout_error_is_its_failure_not_a_wf401(tmp_path: Path) -> None:
    """Only the call's own deadline is WF401: a TimeoutError the plugin raises stays its own."""
    inst = _started(Many(), tmp_path)
    with pytest.raises(TimeoutError, match="the plugin's own"):
        inst.call("own_timeout", [], 5.0)
    inst.shutdown()


def test_private_methods_and_calls_before_initialize_are_refused(tmp_path: Path) -> None:
    """The core calls public methods of an initialized plugin only (WF400, the host's)."""
    inst = PluginInstance(Many, name="m", plugin="m", kind="connector")
    with pytest.raises(PluginError, match="not initialized"):
        inst.call("fetch", [None], None)
    inst.initialize({}, data_dir=tmp_path, backend=LocalBackend("m"))
    with pytest.raises(PluginError, match="private method") as info:
        inst.call("__init__", [], None)
    assert not is_plugin_made(info.value)
    inst.shutdown()
    with pytest.raises(PluginError, match="not initialized"):
        inst.call("fetch", [None], None)


def test_in_process_chunks_screen_records_like_a_worker(tmp_path: Path) -> None:
    """InProcessRunner.chunks refuses a record breaking the contract as its WF406 item."""

    class Bad(ConnectorPlugin):
        def fetch(self, state: dict[str, Any] | None) -> Iterator[Record]:
            yield Record(id="ok", source="b")
            bad = Record(id="bad", source="b")
            bad.data["x"] = object()
            yield bad

    from wiseflow._contract._manifest import Manifest

    spec = RunnerSpec(
        instance="b",
        manifest=Manifest(name="b", version="1.0.0", kind="connector", entry="x:Bad"),
        code_root=None,
        data_dir=str(tmp_path / "b"),
        level="trusted",
        plugin_class=Bad,
    )
    runner = InProcessRunner(spec, LocalBackend("b"))
    runner.load()
    runner.initialize({})
    (chunk,) = list(runner.chunks("fetch", [None], None))
    assert chunk[0] == Record(id="ok", source="b")
    assert isinstance(chunk[1], SkipRecord) and chunk[1].code == "WF406"
    runner.close()


def test_an_async_plugin_loop_is_closed_with_the_instance(tmp_path: Path) -> None:
    """Shutting down closes the instance's event loop (no loop left open)."""
    inst = _started(Many(), tmp_path)
    with pytest.raises(TimeoutError):
        inst.call("own_timeout", [], None)
    loop = inst._loop
    assert isinstance(loop, asyncio.AbstractEventLoop)
    inst.shutdown()
    assert loop.is_closed()


def test_the_core_imports_only_the_contract_at_any_level() -> None:
    """The core (imported by the sandbox worker) never reaches the host side, even lazily."""
    import ast

    import wiseflow._contract._instance as core

    allowed = {"_config", "_context", "_errors", "_interface", "_loader", "_record", "_verdict"}
    allowed.add("_legacy")  # the original-API adapter (SPEC §16), part of the contract
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(core.__file__).read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add(node.module or "wiseflow")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wiseflow"):
            found.add(str(node.module))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("wiseflow"))
    assert found <= allowed, found - allowed
