"""A source's side of the engine: run ``fetch`` in a thread, batch, attach checkpoints."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, final

from .._ceilings import records_exceeded, records_per_run
from .._errors import ProtocolViolation, SkipRecord
from .._record import Checkpoint, Record
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
    """Run one source: batch its records, attach its latest checkpoint, hand batches on."""
    name = handle.name
    started = time.perf_counter()
    batch: list[Record] = []
    skipped: list[SkipRecord] = []
    pending: dict[str, Any] | None = None

    def put(item: Batch | End) -> None:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    error: BaseException | None = None
    limit = records_per_run(handle)
    count = 0
    try:
        for item in handle.fetch(state):
            if stop.is_set():
                break
            if isinstance(item, Record):
                count += 1
                if limit is not None and count > limit:
                    raise records_exceeded(handle.name, limit)  # closes the stream (Cancel)
                batch.append(item if item.source == name else item.replace(source=name))
                if len(batch) + len(skipped) >= batch_size:
                    put(Batch(name, batch, pending, skipped))
                    batch, pending, skipped = [], None, []
            elif isinstance(item, Checkpoint):
                # Coalesced: the state rides with the batch holding every record before it.
                pending = dict(item.state)
            elif isinstance(item, SkipRecord):
                # A refused item: dead-lettered with the batch it was yielded in, so before
                # any checkpoint that follows it is stored. It counts toward the ceiling
                # too: a connector cannot make dead letters without end instead.
                count += 1
                if limit is not None and count > limit:
                    raise records_exceeded(handle.name, limit)
                skipped.append(item)
                if len(batch) + len(skipped) >= batch_size:
                    put(Batch(name, batch, pending, skipped))
                    batch, pending, skipped = [], None, []
            else:
                raise ProtocolViolation(
                    f"source {name!r} yielded {type(item).__name__}, not Record or Checkpoint",
                    plugin=handle.plugin,
                    hint="a connector's fetch() yields Record and Checkpoint objects (and "
                    "SkipRecord for an item it refuses)",
                )
    except BaseException as exc:
        error = exc
    if batch or skipped or pending is not None:
        # Records yielded before a failure are still good; a checkpoint never follows one.
        put(Batch(name, batch, pending, skipped))
    put(End(name, error, time.perf_counter() - started))
