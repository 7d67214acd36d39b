"""The streaming engine: sources → processors (in order) → store → every analyzer.

Each source runs in its own thread and hands batches to one consumer through a bounded
queue, so a fast source blocks (backpressure) instead of filling memory. The consumer runs
the processors; a sink thread (:mod:`._sink`) stores and analyzes, overlapping with the
processors on the next batch. A batch carries
the last checkpoint its source yielded; the consumer commits the batch's records and that
checkpoint in one transaction, so a checkpoint is never stored before the records it
covers, and a killed run resumes without loss or duplicates.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from .._errors import CircuitOpen, InvalidTransition, SkipRecord
from .._plugin import Figure
from .._record import Record
from .._redact import Redactor
from .._resilience import FATAL_CODES
from .._store import Store
from ._model import Pipeline
from ._protocol import StageHandle
from ._sink import Sink
from ._source import Batch, End, produce
from ._summary import RunSummary, StageStats, error_entry

__all__ = ["Progress", "run_pipeline"]

log = logging.getLogger("wiseflow.pipeline")

#: Called after every batch with the summary so far (counts, per-stage stats).
Progress = Callable[[RunSummary], None]

# Failures that say "the plugin is out", not "this record is bad": bisecting is pointless.
_WHOLE_BATCH = (CircuitOpen, InvalidTransition)


class _Run:
    """The consumer side of one run."""

    def __init__(
        self,
        pipeline: Pipeline,
        store: Store,
        summary: RunSummary,
        processors: Sequence[StageHandle],
        analyzers: Sequence[StageHandle],
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.summary = summary
        self.processors = processors
        self.analyzers = analyzers
        self.handles: dict[str, StageHandle] = {}
        self.progress: Progress | None = None
        self.updated_at_start = store.updated

    def stats(self, handle: StageHandle) -> StageStats:
        return self.summary.stages[handle.name]

    def failure(self, handle: StageHandle, exc: BaseException) -> None:
        """Record a stage failure in the run's errors (once per plugin and code)."""
        entry = error_entry(exc, handle.plugin)
        seen = {(e["plugin"], e["code"]) for e in self.summary.errors}
        if (entry["plugin"], entry["code"]) not in seen and len(self.summary.errors) < 100:
            self.summary.errors.append(entry)
        self.summary.status = "failed"

    def dead(self, source: str, record: Record, handle: StageHandle, exc: BaseException) -> None:
        entry = error_entry(exc, handle.plugin)
        reason = exc.reason if isinstance(exc, SkipRecord) else entry["message"]
        self.store.dead_letter(
            self.summary.run_id,
            source,
            record,
            plugin=handle.plugin,
            code=entry["code"],
            reason=reason,
            traceback=entry["traceback"],
        )
        self.summary.dead_letters += 1
        self.stats(handle).failed(entry["code"])

    def process(self, handle: StageHandle, records: list[Record], source: str) -> list[Record]:
        """Run one processor over ``records``; isolate failing records into dead letters."""
        stats = self.stats(handle)
        while records:
            stats.calls += 1
            t0 = time.perf_counter()
            try:
                result = list(handle.process(records))
            except SkipRecord as exc:
                bad = [r for r in records if r.id == exc.record_id]
                if not bad:
                    return self._split(handle, records, source, exc)
                for record in bad:
                    self.dead(source, record, handle, exc)
                records = [r for r in records if r.id != exc.record_id]
                continue
            except _WHOLE_BATCH as exc:
                cause = getattr(handle, "last_error", None)
                self.failure(handle, cause if cause is not None else exc)
                for record in records:
                    self.dead(source, record, handle, exc)
                return []
            except Exception as exc:
                if getattr(exc, "code", None) in FATAL_CODES:
                    self.failure(handle, exc)
                    for record in records:
                        self.dead(source, record, handle, exc)
                    return []
                return self._split(handle, records, source, exc)
            finally:
                stats.seconds += time.perf_counter() - t0
            return result
        return []

    def _split(
        self, handle: StageHandle, records: list[Record], source: str, exc: BaseException
    ) -> list[Record]:
        if len(records) == 1:
            self.dead(source, records[0], handle, exc)
            return []
        mid = len(records) // 2
        return self.process(handle, records[:mid], source) + self.process(
            handle, records[mid:], source
        )

    def analyze(self, records: list[Record]) -> None:
        for handle in self.analyzers:
            stats = self.stats(handle)
            stats.records_in += len(records)
            t0 = time.perf_counter()
            rest = records
            try:
                while rest:
                    stats.calls += 1
                    try:
                        handle.analyze(rest)
                        break
                    except SkipRecord as exc:
                        # The record goes to the dead letters; the batch goes on after it.
                        at = next((i for i, r in enumerate(rest) if r.id == exc.record_id), None)
                        if at is None:
                            self._dead_id(rest[0].source, exc.record_id, handle, exc)
                            break
                        self.dead(rest[at].source, rest[at], handle, exc)
                        rest = rest[at + 1 :]
            except Exception as exc:
                entry = error_entry(exc, handle.plugin)
                stats.failed(entry["code"])
                self.failure(handle, exc)
            finally:
                stats.seconds += time.perf_counter() - t0

    def _dead_id(self, source: str, record_id: str, handle: StageHandle, exc: SkipRecord) -> None:
        """A dead letter for a record known only by its id (skipped before it was whole)."""
        self.store.dead_letter(
            self.summary.run_id, source, None, plugin=handle.plugin, code=exc.code,
            reason=exc.reason, record_id=record_id,
        )  # fmt: skip
        self.summary.dead_letters += 1
        self.stats(handle).failed(exc.code)

    def batch(self, item: Batch) -> tuple[Batch, list[Record]]:
        """First stage (consumer thread): count the batch and run the processors."""
        summary = self.summary
        records = item.records
        if item.skipped:  # items the connector refused (yielded SkipRecord): dead letters
            handle = self.handles[item.source]
            for refused in item.skipped:
                self._dead_id(item.source, refused.record_id, handle, refused)
        summary.fetched += len(records)
        self.summary.stages[item.source].records_out += len(records)
        for handle in self.processors:
            if not records:
                break
            stats = self.stats(handle)
            stats.records_in += len(records)
            records = self.process(handle, records, item.source)
            stats.records_out += len(records)
        # A record's source is the key of its connector instance (dedup and checkpoints):
        # processors may change anything else, not move records to another source.
        records = [r if r.source == item.source else r.replace(source=item.source) for r in records]
        # includes dead letters; processors may also split records, so never below 0
        summary.dropped += max(0, len(item.records) - len(records))
        return item, records

    def sink(self, done: tuple[Batch, list[Record]]) -> None:
        """Second stage (sink thread): store records with the checkpoint, then analyze."""
        item, records = done
        summary = self.summary
        try:
            stored, duplicates = self.store.write_batch(
                item.source, records, summary.run_id, item.checkpoint
            )
        except (TypeError, ValueError, msgspec.EncodeError):
            records = self._storable(item.source, records)
            stored, duplicates = self.store.write_batch(
                item.source, records, summary.run_id, item.checkpoint
            )
        summary.stored += stored
        summary.duplicates += duplicates
        summary.updated = self.store.updated - self.updated_at_start
        if records and self.pipeline.analyze == "stream":
            self.analyze(records)
        if self.progress is not None:
            self.progress(summary)

    def _storable(self, source: str, records: list[Record]) -> list[Record]:
        """Dead-letter the records the store cannot encode (WF406); keep the rest."""
        keep = []
        for record in records:
            why = self.store.encode_error(record)
            if why is None:
                keep.append(record)
                continue
            self.store.dead_letter(
                self.summary.run_id, source, None, plugin=source, code="WF406",
                reason=f"record cannot be stored: {why}", record_id=record.id,
            )  # fmt: skip
            self.summary.dead_letters += 1
        return keep

    def analyze_stored(self, sources: Sequence[str]) -> None:
        """Feed every analyzer all stored records of ``sources`` (``analyze = "stored"``)."""
        for batch in self.store.iter_batches(sources, self.pipeline.batch_size):
            self.analyze(batch)


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

    Returns:
        The :class:`RunSummary`; its ``to_dict()`` is the ``run --json`` document.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
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
            summary.stages[h.name] = StageStats(plugin=h.plugin, kind=kind, state=_state(h))
    run = _Run(pipeline, store, summary, processors, analyzers)
    run.handles = {h.name: h for h in (*sources, *processors, *analyzers)}
    run.progress = progress
    sink: Sink[tuple[Batch, list[Record]]] = Sink(run.sink)
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
            item = q.get()
            if isinstance(item, End):
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
            sink.put(run.batch(item))
        sink.close()
        if pipeline.analyze == "stored" and analyzers:
            run.analyze_stored([h.name for h in sources])
    except BaseException as exc:
        summary.status = "failed"
        if not isinstance(exc, Exception):  # interrupted (Ctrl-C, SIGTERM): no more plugin calls
            summary.status = "interrupted"
        raise
    finally:
        sink.abort()
        stop.set()
        for t in threads:
            t.join(timeout=5)
        try:
            _finish(run, summary, t0, report, pipeline)
        except BaseException:  # interrupted while finishing: the run is still recorded
            summary.status = "interrupted"
            summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
            run.store.finish_run(summary.run_id, summary.status, summary.to_dict())
            raise
    return summary


def _figure(item: Any) -> Figure | str:
    """A figure as rendered, or as it arrives over IPC (``{"title", "body"}``)."""
    if isinstance(item, dict) and "body" in item:
        return Figure(str(item.get("title", "")), str(item["body"]))
    return item if isinstance(item, Figure | str) else str(item)


def _state(handle: StageHandle) -> str:
    """The handle's lifecycle state name, if it has one (``ACTIVE`` otherwise)."""
    state = getattr(handle, "state", "ACTIVE")
    return str(getattr(state, "value", state))


def _health(handle: StageHandle | None) -> dict[str, Any]:
    """Breaker, retries, restarts, fallback calls and resources of a stage's plugin."""
    describe = getattr(handle, "describe", None)
    if not callable(describe):
        return {}
    try:
        d = describe()
    except Exception:
        return {}
    breaker = d.get("breaker") or {}
    return {
        "breaker": {"state": breaker.get("state", "closed"), "opens": breaker.get("opens", 0)},
        "retries": d.get("retries", 0),
        "restarts": d.get("restarts", 0),
        "fallback_calls": d.get("fallback_calls", 0),
        "resources": {
            k: v
            for k, v in (d.get("resources") or {}).items()
            if k in ("cpu_s", "memory_mb", "peak_rss_mb", "uss_mb", "memory_source")
        },
    }


def _log_drops(run: _Run, summary: RunSummary) -> None:
    """Per plugin, the log lines the rate limit dropped: in the document and one log line."""
    dropped = {}
    for name, stats in summary.stages.items():
        n = int(getattr(run.handles.get(name), "log_dropped", 0) or 0)
        stats.log_dropped = n
        if n:
            dropped[name] = n
    if dropped:
        listed = ", ".join(f"{name} {n}" for name, n in dropped.items())
        log.warning("log lines dropped by the rate limit, per plugin: %s", listed)


def _redact(redactor: Redactor | None, summary: RunSummary, figures: dict[str, Any]) -> None:
    """Mask granted secrets in the run document and the report's figures, in place."""
    if not redactor:
        return
    summary.errors = redactor.deep(summary.errors)
    summary.analyzers = redactor.deep(summary.analyzers)
    summary.dead_letter_sample = redactor.deep(summary.dead_letter_sample)
    for name, items in figures.items():
        figures[name] = [
            Figure(redactor.text(f.title), redactor.text(f.body))
            if isinstance(f, Figure)
            else redactor.text(f)
            for f in items
        ]


def _finish(
    run: _Run, summary: RunSummary, t0: float, report: str | Path | None, pipeline: Pipeline
) -> None:
    """Collect analyzer results, write the report, close the run record."""
    figures: dict[str, list[Figure | str]] = {}
    if summary.status == "interrupted":  # plugins may be mid-call: record the run and stop
        summary.seconds = time.perf_counter() - t0
        summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
        run.store.finish_run(summary.run_id, summary.status, summary.to_dict())
        return
    for name, stats in summary.stages.items():
        handle = run.handles.get(name)
        if handle is not None and stats.state != "ERROR":
            stats.state = _state(handle)
        stats.health = _health(handle)
    for handle in run.analyzers:
        stats = run.stats(handle)
        try:
            summary.analyzers[handle.name] = handle.result()
        except Exception as exc:
            entry = error_entry(exc, handle.plugin)
            stats.failed(entry["code"])
            summary.errors.append(entry)
            summary.status = "failed"
    if summary.status == "ok" and (
        summary.dead_letters or summary.errors or any(
            st.state == "ERROR" for st in summary.stages.values()
        )
    ):  # fmt: skip
        summary.status = "partial"  # completed, but not every record made it
    if summary.dead_letters:
        keys = ("source", "record_id", "plugin", "code", "reason", "traceback")
        summary.dead_letter_sample = [
            {k: d[k] for k in keys} for d in run.store.dead_letters(summary.run_id)[:20]
        ]
    target = pipeline.output.report if report is None else (str(report) or None)
    summary.seconds = time.perf_counter() - t0
    if target:
        for handle in run.analyzers:
            if handle.name not in summary.analyzers:
                continue
            try:
                rendered = handle.render(summary.analyzers[handle.name])
                figures[handle.name] = [_figure(f) for f in rendered]
            except Exception as exc:
                summary.errors.append(error_entry(exc, handle.plugin))
                summary.status = "failed"
        _redact(run.store.redactor, summary, figures)  # the report is written from these
        from .._report import render_report

        summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            summary.report = str(Path(target))
            render_report(target, pipeline.name, summary.to_dict(), summary.analyzers, figures)
        except Exception as exc:
            summary.report = None
            summary.errors.append(error_entry(exc, "report"))
            summary.status = "failed"
    _log_drops(run, summary)
    _redact(run.store.redactor, summary, figures)
    summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
    run.store.finish_run(summary.run_id, summary.status, summary.to_dict())
