"""The streaming engine: sources → processors (in order) → store → every analyzer.

Each source runs in its own thread and hands batches to one consumer through a bounded
queue, so a fast source blocks (backpressure) instead of filling memory. The consumer runs
the processors (:mod:`._consumer`); a sink thread (:mod:`._sink`) stores and analyzes,
overlapping with the processors on the next batch. A batch carries the last checkpoint its
source yielded; its records, its dead letters and that checkpoint are committed in one
transaction, so a checkpoint is never stored before the records it covers, and a killed run
resumes without loss or duplicates. :mod:`._finish` closes the run. With replicas of a
processor (:mod:`._replicas`) several batches are processed at once and handed to the sink
in the order they came, so the same holds.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from .._contract._errors import SkipRecord
from .._store import Store
from ._consumer import Consumer, Done, Progress
from ._finish import finish, state_of
from ._model import Pipeline
from ._protocol import StageHandle
from ._replicas import parallel_stages
from ._sink import Sink
from ._source import Batch, End, produce
from ._summary import RunSummary, StageStats, error_entry

__all__ = ["Progress", "run_pipeline"]


def run_pipeline(
    pipeline: Pipeline,
    store: Store,
    sources: Sequence[StageHandle],
    processors: Sequence[StageHandle] = (),
    analyzers: Sequence[StageHandle] = (),
    *,
    full_refresh: bool = False,
    progress: Progress | None = None,
    report: str | Path | None = None,
    t0: float | None = None,
    between: Callable[[], None] | None = None,
) -> RunSummary:
    """Run ``pipeline`` over ready stage handles and return its summary.

    Args:
        pipeline: the validated pipeline file (batch size, queue depth, name, output).
        store: where records, dead letters, checkpoints and the run are written.
        sources, processors, analyzers: handles in pipeline order.
        full_refresh: ignore stored checkpoints (sources fetch everything again; records
            already stored are counted as duplicates).
        progress: called after every batch with the summary so far.
        report: write the report here (``.html``/``.md``/``.json``); default: the
            pipeline's ``[output] report``; ``""`` for none.
        t0: ``time.perf_counter()`` when the run began (default: now); the caller that
            started the plugins for it passes that moment, so ``seconds`` is wall time.
        between: called in the consumer thread before each batch goes to the processors,
            when no processor call is in flight (``--watch`` swaps reloaded ones there).

    Returns:
        The :class:`RunSummary`; its ``to_dict()`` is the ``run --json`` document.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter() if t0 is None else t0
    summary = RunSummary(
        run_id=store.begin_run(pipeline.name),
        pipeline=pipeline.name,
        started=started.isoformat(timespec="seconds"),
    )
    for handles, kind in (
        (sources, "connector"),
        (processors, "processor"),
        (analyzers, "analyzer"),
    ):
        for h in handles:
            summary.stages[h.name] = StageStats(plugin=h.plugin, kind=kind, state=state_of(h))
    scaled = parallel_stages(processors)  # replicas: batches side by side (._replicas)
    if scaled is not None:
        processors = scaled.stages
    run = Consumer(pipeline, store, summary, processors, analyzers)
    run.handles = {h.name: h for h in (*sources, *processors, *analyzers)}
    run.progress = progress
    sink: Sink[Done] = Sink(run.sink)
    side = scaled.start(run.batch, sink.put) if scaled is not None else None
    depth = max(2, pipeline.queue_batches * max(1, len(sources)))
    q: queue.Queue[Batch | End] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    threads = []
    try:
        for handle in sources:
            state = None if full_refresh else store.checkpoint(handle.name)
            summary.stages[handle.name].calls += 1
            t = threading.Thread(
                target=produce,
                args=(handle, state, pipeline.batch_size, q, stop),
                name=f"wiseflow-source-{handle.name}",
                daemon=True,
            )
            t.start()
            threads.append(t)
        active = len(threads)
        while active:
            try:
                # A signal taken by another thread (the kernel picks any) runs its handler
                # only once this thread wakes: an idle source (--watch) must not hold Ctrl-C.
                item = q.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(item, End):
                if side is not None:
                    side.drain()  # the batches before it are through: no overlap with below
                active -= 1
                stats = summary.stages[item.source]
                stats.seconds = item.seconds
                if isinstance(item.error, SkipRecord):
                    # fetch() cannot go on after raising: dead-letter the id, end the source.
                    handle = run.handles[item.source]
                    run._dead_id(item.source, item.error.record_id, handle, item.error)
                    item.error.hint = (
                        "a connector cannot continue after raising SkipRecord; yield the "
                        "other records and leave the bad one out instead"
                    )
                if item.error is not None:
                    entry = error_entry(item.error, stats.plugin)
                    stats.failed(entry["code"])
                    stats.state = "ERROR" if not isinstance(item.error, SkipRecord) else stats.state
                    summary.errors.append(entry)
                    summary.status = "failed"
                continue
            if between is not None:
                if side is not None and _reload_waits(between):
                    side.drain()  # no processor call in flight while one is swapped
                between()
            if side is not None:
                side.put(item)
            else:
                sink.put(run.batch(item))
        if side is not None:
            side.close()
        sink.close()
        if pipeline.analyze == "stored" and analyzers:
            run.analyze_stored([h.name for h in sources])
    except BaseException as exc:
        summary.status = "failed"
        if not isinstance(exc, Exception):  # interrupted (Ctrl-C, SIGTERM): no more plugin calls
            summary.status = "interrupted"
        raise
    finally:
        if side is not None:
            side.abort()
        sink.abort()
        stop.set()
        for t in threads:
            t.join(timeout=5)
        try:
            finish(run, summary, t0, report, pipeline)
        except BaseException:  # interrupted while finishing: the run is still recorded
            summary.status = "interrupted"
            summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
            run.store.finish_run(summary.run_id, summary.status, summary.to_dict())
            raise
    return summary


def _reload_waits(between: Callable[[], None]) -> bool:
    """Whether ``between`` has a swap to make (``--watch``'s ``waiting()``; unknown: yes)."""
    waiting = getattr(getattr(between, "__self__", None), "waiting", None)
    return not callable(waiting) or bool(waiting())
