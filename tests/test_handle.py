"""The dispatch point: a lean success path, chunked streams metered and counted per chunk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from wiseflow import Checkpoint, ConnectorPlugin, ProcessorPlugin, Record, TransientError
from wiseflow._host._handle import PluginHandle
from wiseflow._policy._operator import OperatorConfig, PluginPolicy, Retry


class Source(ConnectorPlugin):
    name = "source"

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        for i in range(int((state or {}).get("n", 0))):
            yield Record(id=str(i), source="source")
            if i % 100 == 99:
                yield Checkpoint(state={"at": i})


class Echo(ProcessorPlugin):
    name = "echo"

    def process(self, batch: list[Record]) -> list[Record]:
        return batch

    def ping(self, x: Any) -> Any:
        return x


def test_fetch_chunks_hands_on_lists_in_order_counted_per_chunk(wiseflow_manager: Any) -> None:
    """A trusted connector's items come as lists of at most ``size`` items (a checkpoint
    ends one), in order; records_out counts every item, calls count one stream."""
    handle = wiseflow_manager(Source).start("source")
    chunks = list(handle.fetch_chunks({"n": 250}, size=40))
    items = [i for c in chunks for i in c]
    assert all(0 < len(c) <= 40 for c in chunks)
    assert [i.id for i in items if isinstance(i, Record)] == [str(i) for i in range(250)]
    assert [i.state for i in items if isinstance(i, Checkpoint)] == [{"at": 99}, {"at": 199}]
    assert all(isinstance(c[-1], Checkpoint) for c in chunks if isinstance(c[-1], Checkpoint))
    assert handle.stats.records_out == 252
    assert handle.stats.calls == 1


def test_fetch_items_are_the_chunks_flattened(wiseflow_manager: Any) -> None:
    """fetch() (used by ctx.plugin and the testing kit) yields the same items one by one."""
    handle = wiseflow_manager(Source).start("source")
    chunked = [i for c in handle.fetch_chunks({"n": 120}) for i in c]
    assert list(handle.fetch({"n": 120})) == chunked


def test_retry_before_the_first_chunk_only(wiseflow_manager: Any) -> None:
    """A stream failing transiently before its first chunk is started again."""

    class Flaky(ConnectorPlugin):
        name = "flaky-src"
        starts = 0

        def fetch(self, state: dict[str, Any] | None) -> Iterator[Record]:
            type(self).starts += 1
            if type(self).starts < 3:
                raise TransientError("not yet")
            yield Record(id="1", source="s")

    retry = Retry(attempts=4, backoff_s=0.001, max_backoff_s=0.01)
    pm = wiseflow_manager(
        Flaky, config=OperatorConfig(plugins={"flaky-src": PluginPolicy(retry=retry)})
    )
    handle = pm.start("flaky-src")
    assert [[r.id for r in c] for c in handle.fetch_chunks(None)] == [["1"]]
    assert Flaky.starts == 3 and handle.stats.retries == 2


def test_a_successful_call_never_consults_the_retry_policy(
    wiseflow_manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy is looked up only when a call failed: success does the least it can."""
    handle = wiseflow_manager(Echo).start("echo")

    def consulted(self: PluginHandle, method: str) -> Any:
        raise AssertionError(f"policy consulted for a successful {method}()")

    monkeypatch.setattr(PluginHandle, "_policy", consulted)
    assert handle.invoke("ping", 7) == 7
    assert handle.process([Record(id="1", source="s")]) == [Record(id="1", source="s")]
    assert handle.stats.calls == 2 and handle.stats.errors == 0


def test_a_handle_is_slotted(wiseflow_manager: Any) -> None:
    """No per-instance dict: the hot attributes live in slots."""
    handle = wiseflow_manager(Echo).start("echo")
    assert not hasattr(handle, "__dict__")
    with pytest.raises(AttributeError):
        handle.colour = "red"  # type: ignore[attr-defined]


def test_metered_cpu_of_trusted_calls_never_exceeds_their_wall_time(
    wiseflow_manager: Any,
) -> None:
    """Short calls count their wall time at most (the thread CPU clock is read once for
    them): the CPU metered for 2,000 calls stays within the wall time they took."""
    handle = wiseflow_manager(Echo).start("echo")
    for _ in range(2000):
        handle.invoke("ping", 1)
    wall = sum(handle.stats.latencies)
    assert 0 < handle.meter.thread_cpu <= wall
