"""A source's side of the engine: run ``fetch`` in a thread, batch, attach checkpoints."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, final

from .._ceilings import records_exceeded, records_per_run
from .._errors import ProtocolViolation
from .._record import Checkpoint, Record
from ._protocol import StageHandle

__all__ = ["Batch", "End", "produce"]


@final
class Batch:
    __slots__ = ("checkpoint", "records", "source")

    def __init__(self, source: str, records: list[Record], checkpoint: dict[str, Any] | None):
        self.source = source
        self.records = records
        self.checkpoint = checkpoint


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
                if len(batch) >= batch_size:
                    put(Batch(name, batch, pending))
                    batch, pending = [], None
            elif isinstance(item, Checkpoint):
                # Coalesced: the state rides with the batch holding every record before it.
                pending = dict(item.state)
            else:
                raise ProtocolViolation(
                    f"source {name!r} yielded {type(item).__name__}, not Record or Checkpoint",
                    plugin=handle.plugin,
                    hint="a connector's fetch() yields Record and Checkpoint objects only",
                )
    except BaseException as exc:
        error = exc
    if batch or pending is not None:
        # Records yielded before a failure are still good; a checkpoint never follows one.
        put(Batch(name, batch, pending))
    put(End(name, error, time.perf_counter() - started))
