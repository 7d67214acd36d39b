"""The source loop: chunks become batches by slicing, with exactly the item-by-item semantics."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiseflow import Checkpoint, QuotaExceeded, Record, SkipRecord
from wiseflow._contract._ceilings import effective_limits
from wiseflow._contract._manifest import Resources
from wiseflow._pipeline._source import Batch, End, produce


class _Spec:
    def __init__(self, limit: int | None) -> None:
        base = effective_limits(Resources(), {}, None)
        self.limits = msgspec.structs.replace(base, max_records_per_run=limit)


class _Runner:
    def __init__(self, limit: int | None) -> None:
        self.spec = _Spec(limit)


class ChunkedSource:
    """A stage handle whose source yields ``chunks`` (then raises ``fail``, if given)."""

    name = "src"
    plugin = "src-plugin"

    def __init__(
        self, chunks: list[list[Any]], fail: Exception | None = None, limit: int | None = None
    ) -> None:
        self.chunks = chunks
        self.fail = fail
        self.runner = _Runner(limit)

    def fetch_chunks(self, state: dict[str, Any] | None, size: int = 500) -> Iterator[list[Any]]:
        yield from self.chunks
        if self.fail is not None:
            raise self.fail


def reference(
    items: list[Any], batch_size: int, limit: int | None, fail: Exception | None
) -> tuple[list[tuple[list[str], dict[str, Any] | None, list[str]]], str | None]:
    """The source loop as it was, item by item: (batches, error code)."""
    out: list[tuple[list[str], dict[str, Any] | None, list[str]]] = []
    batch: list[str] = []
    skipped: list[str] = []
    pending: dict[str, Any] | None = None
    count = 0
    error: str | None = None
    try:
        for item in items:
            if isinstance(item, Record | SkipRecord):
                count += 1
                if limit is not None and count > limit:
                    raise QuotaExceeded("over")
                if isinstance(item, Record):
                    batch.append(item.id)
                else:
                    skipped.append(item.record_id)
                if len(batch) + len(skipped) >= batch_size:
                    out.append((batch, pending, skipped))
                    batch, pending, skipped = [], None, []
            else:
                pending = dict(item.state)
        if fail is not None:
            raise fail
    except Exception as exc:
        error = getattr(exc, "code", "?")
    if batch or skipped or pending is not None:
        out.append((batch, pending, skipped))
    return out, error


def run(
    source: ChunkedSource, batch_size: int
) -> tuple[list[tuple[list[str], dict[str, Any] | None, list[str]]], BaseException | None]:
    out: queue.Queue[Batch | End] = queue.Queue()
    produce(source, None, batch_size, out, threading.Event())
    batches = []
    while True:
        got = out.get_nowait()
        if isinstance(got, End):
            return batches, got.error
        batches.append(
            ([r.id for r in got.records], got.checkpoint, [s.record_id for s in got.skipped])
        )


def _item(kind: int, n: int) -> Any:
    if kind == 0:
        return Checkpoint(state={"at": n})
    if kind == 1:
        return SkipRecord(f"bad-{n}", "refused")
    return Record(id=f"r{n}", source="src")


def _chunked(items: list[Any], cuts: list[int]) -> list[list[Any]]:
    chunks, at = [], 0
    for cut in cuts:
        if at >= len(items):
            break
        chunks.append(items[at : at + cut])
        at += cut
    if at < len(items):
        chunks.append(items[at:])
    return chunks


@settings(max_examples=300, deadline=None)
@given(
    kinds=st.lists(st.sampled_from([0, 1, 2, 2, 2, 2, 2]), max_size=60),
    cuts=st.lists(st.integers(1, 25), max_size=30),
    batch_size=st.integers(1, 12),
    limit=st.one_of(st.none(), st.integers(0, 50)),
    fails=st.booleans(),
)
def test_chunks_batch_exactly_as_items_did(
    kinds: list[int], cuts: list[int], batch_size: int, limit: int | None, fails: bool
) -> None:
    """However a source's items are cut into chunks, the batches (records, checkpoint riding
    with the batch holding every record before it, refused items, the ceiling's cut and the
    error) are exactly those the item-by-item loop made."""
    items = [_item(k, n) for n, k in enumerate(kinds)]
    fail = RuntimeError("source broke") if fails else None
    want, want_error = reference(items, batch_size, limit, fail)
    got, error = run(ChunkedSource(_chunked(items, cuts), fail, limit), batch_size)
    assert got == want
    assert getattr(error, "code", "?" if error is not None else None) == want_error


def test_records_of_another_source_are_renamed_in_a_chunk() -> None:
    """A chunk of records named for another source is stored under this source's name."""
    recs = [Record(id=str(i), source="elsewhere") for i in range(3)]
    out: queue.Queue[Batch | End] = queue.Queue()
    produce(ChunkedSource([recs]), None, 10, out, threading.Event())
    batch = out.get_nowait()
    assert isinstance(batch, Batch)
    assert [r.source for r in batch.records] == ["src"] * 3


def test_something_else_in_a_chunk_is_a_protocol_violation() -> None:
    """A chunk holding neither Record, Checkpoint nor SkipRecord ends the source with WF406,
    the records before it still handed on."""
    chunks = [[Record(id="1", source="src"), "not a record"]]
    batches, error = run(ChunkedSource(chunks), 10)
    assert batches == [(["1"], None, [])]
    assert getattr(error, "code", None) == "WF406"


@pytest.mark.parametrize("size", [1, 7, 500])
def test_one_big_chunk_is_sliced_into_batches(size: int) -> None:
    """A worker's chunk of 1,000 records becomes ceil(1000 / batch) batches, in order."""
    recs = [Record(id=str(i), source="src") for i in range(1000)]
    batches, error = run(ChunkedSource([recs]), size)
    assert error is None
    assert [len(b[0]) for b in batches] == [size] * (1000 // size) + (
        [1000 % size] if 1000 % size else []
    )
    assert [i for b in batches for i in b[0]] == [str(i) for i in range(1000)]
