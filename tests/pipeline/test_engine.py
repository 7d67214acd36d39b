"""The streaming engine: batching, checkpoints, dead letters, bisecting, concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wiseflow import (
    AnalyzerPlugin,
    Checkpoint,
    ConnectorPlugin,
    PluginError,
    ProcessorPlugin,
    Record,
    SkipRecord,
)
from wiseflow._pipeline import parse_pipeline, run_pipeline
from wiseflow._store import Store


class Counter(ConnectorPlugin):
    """Yields ``n`` records with a checkpoint every ``every``; may fail after ``fail_at``."""

    def __init__(self, n: int = 10, every: int = 3, fail_at: int | None = None) -> None:
        self.n, self.every, self.fail_at = n, every, fail_at
        self.states: list[Any] = []
        self.max_ahead = 0

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        self.states.append(state)
        start = state["next"] if state else 0
        for i in range(start, self.n):
            if self.fail_at is not None and i == self.fail_at:
                raise PluginError("source broke", plugin="counter")
            yield Record(id=str(i), source="ignored", data={"i": i}, text=f"item {i}")
            if (i + 1) % self.every == 0:
                yield Checkpoint(state={"next": i + 1})
        yield Checkpoint(state={"next": self.n})


class AsyncCounter(ConnectorPlugin):
    """An async generator source."""

    async def fetch(self, state: dict[str, Any] | None) -> Any:
        for i in range(7):
            yield Record(id=f"a{i}", source="x")
        yield Checkpoint(state={"done": True})


class Picky(ProcessorPlugin):
    """Fails whole batches containing a record whose id is in ``bad``; skips ``skip``."""

    def __init__(self, bad: set[str] = frozenset(), skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.bad, self.skip = bad, skip

    def process(self, batch: list[Record]) -> list[Record]:
        for r in batch:
            if r.id in self.skip:
                raise SkipRecord(r.id, "not wanted")
            if r.id in self.bad:
                raise ValueError(f"cannot handle {r.id}")
        return [r.annotate("picky", True) for r in batch]


class Collect(AnalyzerPlugin):
    """Remembers batch sizes and ids."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.ids: list[str] = []

    def analyze(self, batch: list[Record]) -> None:
        self.sizes.append(len(batch))
        self.ids.extend(r.id for r in batch)

    def result(self) -> dict[str, Any]:
        return {"count": len(self.ids)}


def _pipeline(batch: int = 4, extra: str = "") -> Any:
    return parse_pipeline(
        f'[pipeline]\nname = "t"\nbatch_size = {batch}\n{extra}\n[[sources]]\nplugin = "c"\n'
    )


def test_records_flow_through_stages_in_batches(tmp_path: Path, stage: Any, store: Store) -> None:
    """Records pass processors then every analyzer in batches and land in the store."""
    coll = Collect()
    summary = run_pipeline(
        _pipeline(),
        store,
        [stage(Counter(), tmp_path, "c")],
        [stage(Picky(), tmp_path, "p")],
        [stage(coll, tmp_path, "a")],
    )
    doc = summary.to_dict()
    assert doc["status"] == "ok"
    assert doc["records"] == {
        "fetched": 10,
        "stored": 10,
        "duplicates": 0,
        "updated": 0,
        "dead_letters": 0,
        "dropped": 0,
    }
    assert max(coll.sizes) <= 4
    assert sorted(coll.ids, key=int) == [str(i) for i in range(10)]
    assert doc["analyzers"] == {"a": {"count": 10}}
    assert set(doc["plugins"]) == {"c", "p", "a"}
    assert {"state", "calls", "errors", "error_codes"} <= set(doc["plugins"]["p"])
    rec = next(iter(store.records("c")))
    assert rec.source == "c"
    assert rec.annotations == {"picky": True}
    assert store.checkpoint("c") == {"next": 10}
    assert store.runs()[0]["status"] == "ok"


def test_rerun_resumes_from_checkpoint_and_full_refresh_counts_duplicates(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """A second run gets the stored checkpoint; --full-refresh refetches and stores no duplicate."""
    src = Counter()
    run_pipeline(_pipeline(), store, [stage(src, tmp_path, "c")])
    second = run_pipeline(_pipeline(), store, [stage(src, tmp_path, "c")]).to_dict()
    assert src.states[1] == {"next": 10}
    assert second["records"]["fetched"] == 0
    third = run_pipeline(_pipeline(), store, [stage(src, tmp_path, "c")], full_refresh=True)
    assert src.states[2] is None
    assert third.to_dict()["records"]["duplicates"] == 10
    assert store.count() == 10


def test_failing_source_keeps_records_before_and_the_last_checkpoint(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """A source failing mid-way: earlier records are stored, its checkpoint never passes them."""
    summary = run_pipeline(_pipeline(batch=100), store, [stage(Counter(fail_at=7), tmp_path, "c")])
    doc = summary.to_dict()
    assert doc["status"] == "failed"
    assert doc["errors"][0]["code"] == "WF400"
    assert doc["plugins"]["c"]["state"] == "ERROR"
    assert store.count() == 7
    assert store.checkpoint("c") == {"next": 6}


def test_skip_record_and_bad_records_become_dead_letters(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """SkipRecord dead-letters one record; a failing batch is bisected to its bad records."""
    picky = Picky(bad={"2", "9"}, skip={"5"})
    summary = run_pipeline(
        _pipeline(batch=8),
        store,
        [stage(Counter(n=12, every=100), tmp_path, "c")],
        [stage(picky, tmp_path, "p")],
    ).to_dict()
    assert summary["records"]["dead_letters"] == 3
    assert summary["records"]["stored"] == 9
    assert {d["record_id"] for d in summary["dead_letter_sample"]} == {"2", "5", "9"}
    letters = {d["record_id"]: d for d in store.dead_letters()}
    assert set(letters) == {"2", "5", "9"}
    assert letters["5"]["code"] == "WF408"
    assert letters["5"]["reason"] == "not wanted"
    assert letters["2"]["plugin"] == "p"
    assert "cannot handle 2" in letters["2"]["reason"]
    assert letters["2"]["record"]["data"] == {"i": 2}
    assert summary["plugins"]["p"]["error_codes"] == ["WF408", "WF400"] or set(
        summary["plugins"]["p"]["error_codes"]
    ) == {"WF408", "WF400"}


def test_async_source_and_concurrent_sources(tmp_path: Path, stage: Any, store: Store) -> None:
    """An async-generator source runs beside a plain one; both are fully stored."""
    text = '[pipeline]\nname = "t"\n[[sources]]\nplugin = "c"\n[[sources]]\nplugin = "a"\n'
    summary = run_pipeline(
        parse_pipeline(text),
        store,
        [stage(Counter(n=50), tmp_path, "c"), stage(AsyncCounter(), tmp_path, "a")],
    )
    assert summary.stored == 57
    assert store.checkpoint("a") == {"done": True}


class Endless(ConnectorPlugin):
    """Yields records forever, recording how far it got."""

    def __init__(self) -> None:
        self.produced = 0

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        while True:
            self.produced += 1
            yield Record(id=str(self.produced), source="e")


class Slow(AnalyzerPlugin):
    """Takes its time, and stops the run by raising after a few batches."""

    def __init__(self, source: Endless) -> None:
        self.source = source
        self.batches = 0
        self.ahead: list[int] = []

    def analyze(self, batch: list[Record]) -> None:
        self.batches += 1
        time.sleep(0.01)
        self.ahead.append(self.source.produced - self.batches * 10)
        if self.batches == 30:
            raise KeyboardInterrupt

    def result(self) -> dict[str, Any]:
        return {}


def test_backpressure_bounds_how_far_a_source_runs_ahead(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """A fast source blocks on the bounded queue: it never runs more than a few batches ahead."""
    src = Endless()
    slow = Slow(src)
    pipeline = _pipeline(batch=10, extra="queue_batches = 2")
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(pipeline, store, [stage(src, tmp_path, "c")], [], [stage(slow, tmp_path, "s")])
    # source queue (2) + sink queue (2) + one being built + one in the consumer's hand
    # + one being analyzed: a constant, however long the source runs
    assert max(slow.ahead) <= 10 * 7
    assert max(slow.ahead[-10:]) <= max(slow.ahead[:10]) + 10
    assert store.runs()[0]["status"] == "interrupted"  # stopped by KeyboardInterrupt
    assert threading.active_count() < 5


def test_analyze_stored_sees_history_on_incremental_runs(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """With analyze = "stored", a run that fetched nothing new still analyzes every record."""
    pipeline = _pipeline(extra='analyze = "stored"')
    run_pipeline(pipeline, store, [stage(Counter(), tmp_path, "c")])
    coll = Collect()
    doc = run_pipeline(
        pipeline, store, [stage(Counter(), tmp_path, "c")], [], [stage(coll, tmp_path, "a")]
    ).to_dict()
    assert doc["records"]["fetched"] == 0
    assert doc["analyzers"]["a"] == {"count": 10}


class Broken(AnalyzerPlugin):
    """Fails on every batch."""

    def analyze(self, batch: list[Record]) -> None:
        raise RuntimeError("boom")

    def result(self) -> dict[str, Any]:
        return {}


def test_failing_analyzer_is_reported_and_records_still_stored(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """An analyzer error marks the run failed with its code but loses no records."""
    doc = run_pipeline(
        _pipeline(), store, [stage(Counter(), tmp_path, "c")], [], [stage(Broken(), tmp_path, "b")]
    ).to_dict()
    assert doc["status"] == "failed"
    assert doc["errors"][0]["plugin"] == "b"
    assert "boom" in doc["errors"][0]["message"]
    assert store.count() == 10


class Odd(ConnectorPlugin):
    """Yields one record whose data cannot be encoded as JSON among good ones."""

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        yield Record(id="ok1", source="o")
        bad = Record(id="bad", source="o")
        bad.data["x"] = object()  # changed in place: the constructor never saw it
        yield bad
        yield Record(id="ok2", source="o")
        yield Checkpoint(state={"done": True})


def test_unstorable_record_is_dead_lettered_not_fatal(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """A record the store cannot encode goes to dead letters; its batch and checkpoint commit."""
    doc = run_pipeline(_pipeline(), store, [stage(Odd(), tmp_path, "o")]).to_dict()
    assert doc["records"]["stored"] == 2
    assert doc["records"]["dead_letters"] == 1
    (dl,) = store.dead_letters()
    assert dl["record_id"] == "bad"
    assert dl["code"] == "WF406"
    assert store.checkpoint("o") == {"done": True}


def test_local_and_manager_handles_satisfy_the_stage_protocol(tmp_path: Path, stage: Any) -> None:
    """LocalStage and the manager's PluginHandle both are StageHandles."""
    from wiseflow._host._manager import PluginManager
    from wiseflow._pipeline import StageHandle

    assert isinstance(stage(Counter(), tmp_path, "c"), StageHandle)
    with PluginManager(data_dir=tmp_path / "wf", level="trusted", cache=False) as pm:
        assert isinstance(pm.start("text"), StageHandle)


class Refusing(ConnectorPlugin):
    """Yields good records and, between them, SkipRecords for items it refuses."""

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint | SkipRecord]:
        yield Record(id="1", source="x")
        yield SkipRecord("item-2", "no id")
        yield Record(id="3", source="x")
        yield Checkpoint(state={"next": 4})
        yield SkipRecord("item-4", "no id either")
        yield Record(id="5", source="x")
        yield Checkpoint(state={"next": 6})


def test_yielded_skip_record_dead_letters_one_item_and_the_stream_goes_on(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """A connector refusing items by yielding SkipRecord loses only those: the rest is stored."""
    summary = run_pipeline(_pipeline(batch=2), store, [stage(Refusing(), tmp_path, "c")]).to_dict()
    assert summary["records"]["stored"] == 3
    assert summary["records"]["dead_letters"] == 2
    assert summary["errors"] == []
    letters = store.dead_letters()
    assert [(d["record_id"], d["reason"], d["code"]) for d in letters] == [
        ("item-2", "no id", "WF408"), ("item-4", "no id either", "WF408")
    ]  # fmt: skip
    assert store.checkpoint("c") == {"next": 6}


class Twice(ConnectorPlugin):
    """Yields the same id twice in one batch (a feed repeating an item), then others."""

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        yield Record(id="dup", source="x", text="first")
        yield Record(id="1", source="x")
        yield Record(id="dup", source="x", text="again")
        yield Record(id="2", source="x")
        yield Checkpoint(state={"next": 4})


def test_an_id_refused_twice_in_a_run_is_one_dead_letter_in_the_store_and_the_count(
    tmp_path: Path, stage: Any, store: Store
) -> None:
    """The store keeps one letter per (source, record, plugin), with the latest refusal;
    the run's document counts what the store keeps."""
    summary = run_pipeline(
        _pipeline(batch=8),
        store,
        [stage(Twice(), tmp_path, "c")],
        [stage(Picky(skip={"dup"}), tmp_path, "p")],
    ).to_dict()
    letters = store.dead_letters()
    assert [(d["record_id"], d["plugin"]) for d in letters] == [("dup", "p")]
    assert letters[0]["record"]["text"] == "again"
    assert summary["records"]["dead_letters"] == len(letters) == 1
    assert summary["records"]["stored"] == 2
