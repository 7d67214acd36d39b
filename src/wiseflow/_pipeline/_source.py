"""A source's side of the engine: run ``fetch`` in a thread, batch, attach checkpoints."""

from __future__ import annotations

import queue
import threading
import time
from operator import attrgetter
from typing import Any, final

from .._contract._ceilings import records_exceeded, records_per_run
from .._contract._errors import ProtocolViolation, SkipRecord
from .._contract._record import Checkpoint, Record
from ._protocol import StageHandle

__all__ = ["Batch", "End", "produce"]


@final
class Batch:
    """Records of one source, the checkpoint after them, and the items it refused."""

    __slots__ = ("checkpoint", "records", "skipped", "source")

    def __init__(
        self,
        source: str,
        records: list[Record],
        checkpoint: dict[str, Any] | None,
        skipped: list[SkipRecord] | None = None,
    ) -> None:
        self.source = source
        self.records = records
        self.checkpoint = checkpoint
        self.skipped = skipped or []


@final
class End:
    __slots__ = ("error", "seconds", "source")

    def __init__(self, source: str, error: BaseException | None, seconds: float) -> None:
        self.source = source
        self.error = error
        self.seconds = seconds


def produce(
    handle: StageHandle,
    state: dict[str, Any] | None,
    batch_size: int,
    out: queue.Queue[Batch | End],
    stop: threading.Event,
) -> None:
    """Run one source: batch its records, attach its latest checkpoint, hand batches on.

    The source's chunks are cut into batches by slicing; only a chunk holding something
    other than records (a checkpoint, a refused item) is walked item by item.
    """
    name = handle.name
    started = time.perf_counter()
    batcher = _Batcher(name, batch_size, out, stop, records_per_run(handle))
    error: BaseException | None = None
    try:
        for chunk in handle.fetch_chunks(state, batch_size):
            if stop.is_set():
                break
            if not chunk:  # the source is idle (a watched run polls it): ship what is batched
                batcher.finish()
                continue
            if set(map(type, chunk)) == _RECORDS_ONLY:
                batcher.records(chunk)
                continue
            run = 0  # start of the records not yet taken
            for i, item in enumerate(chunk):
                if type(item) is Record:
                    continue
                if i > run:
                    batcher.records(chunk[run:i])
                run = i + 1
                batcher.other(item, handle.plugin)
            if run < len(chunk):
                batcher.records(chunk[run:])
    except BaseException as exc:
        error = exc
    batcher.finish()
    batcher.put(End(name, error, time.perf_counter() - started))


_RECORDS_ONLY = {Record}
_source_of = attrgetter("source")


@final
class _Batcher:
    """Cuts a source's items into batches of ``batch_size`` (records and refused items).

    A checkpoint rides with the batch holding every record before it (coalesced: the
    latest wins); a refused item is dead-lettered with the batch it was yielded in, so
    before any checkpoint that follows it is stored. Both records and refused items count
    toward ``limit`` (a connector cannot make dead letters without end instead).
    """

    __slots__ = ("count", "limit", "name", "out", "pending", "records_", "size", "skipped", "stop")

    def __init__(
        self,
        name: str,
        size: int,
        out: queue.Queue[Batch | End],
        stop: threading.Event,
        limit: int | None,
    ) -> None:
        self.name = name
        self.size = size
        self.out = out
        self.stop = stop
        self.limit = limit
        self.count = 0
        self.records_: list[Record] = []
        self.skipped: list[SkipRecord] = []
        self.pending: dict[str, Any] | None = None

    def put(self, item: Batch | End) -> None:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _ship(self) -> None:
        self.put(Batch(self.name, self.records_, self.pending, self.skipped))
        self.records_, self.pending, self.skipped = [], None, []

    def records(self, recs: list[Any]) -> None:
        """Take a run of records (in order); ships every batch it fills."""
        name = self.name
        if set(map(_source_of, recs)) != {name}:
            recs = [r if r.source == name else r.replace(source=name) for r in recs]
        over = None
        if self.limit is not None and self.count + len(recs) > self.limit:
            over = records_exceeded(name, self.limit)  # raised once the rest is batched
            recs = recs[: max(0, self.limit - self.count)]
        self.count += len(recs)
        at = 0
        while at < len(recs):
            room = self.size - len(self.records_) - len(self.skipped)
            self.records_ += recs[at : at + room]
            at += room
            if len(self.records_) + len(self.skipped) >= self.size:
                self._ship()
        if over is not None:
            raise over  # closes the stream (Cancel)

    def other(self, item: Any, plugin: str) -> None:
        """A checkpoint or a refused item; anything else breaks the contract (WF406)."""
        if isinstance(item, Checkpoint):
            self.pending = dict(item.state)
        elif isinstance(item, SkipRecord):
            self.count += 1
            if self.limit is not None and self.count > self.limit:
                raise records_exceeded(self.name, self.limit)
            self.skipped.append(item)
            if len(self.records_) + len(self.skipped) >= self.size:
                self._ship()
        else:
            raise ProtocolViolation(
                f"source {self.name!r} yielded {type(item).__name__}, not Record or Checkpoint",
                plugin=plugin,
                hint="a connector's fetch() yields Record and Checkpoint objects (and "
                "SkipRecord for an item it refuses)",
            )

    def finish(self) -> None:
        """Ship what is left: records before a failure are still good; a checkpoint never
        follows one."""
        if self.records_ or self.skipped or self.pending is not None:
            self._ship()
