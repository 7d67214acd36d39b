"""The consumer side of a run: a batch through the processors (failing records isolated
into dead letters), then stored with its dead letters and checkpoint, then analyzed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from operator import attrgetter

import msgspec

from .._contract._errors import CircuitOpen, InvalidTransition, SkipRecord
from .._contract._record import Record
from .._host._resilience import FATAL_CODES
from .._store import DeadLetter, Store
from ._model import Pipeline
from ._protocol import StageHandle
from ._source import Batch
from ._summary import RunSummary, StageStats, error_entry

__all__ = ["Consumer", "Done", "Progress"]

#: A processed batch: the source's batch, the records to store, its dead letters.
Done = tuple[Batch, list[Record], list[DeadLetter]]

#: Called after every batch with the summary so far (counts, per-stage stats).
Progress = Callable[[RunSummary], None]

_source_of = attrgetter("source")

# Failures that say "the plugin is out", not "this record is bad": bisecting is pointless.
_WHOLE_BATCH = (CircuitOpen, InvalidTransition)


class Consumer:
    """The consumer side of one run: processors, dead letters, the store, analyzers."""

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
        self._held = threading.local()  # the dead letters of the batch a thread processes
        self._lettered: set[tuple[str, str, str]] = set()  # keys counted in this run
        self._counting = threading.Lock()

    def stats(self, handle: StageHandle) -> StageStats:
        return self.summary.stages[handle.name]

    def failure(self, handle: StageHandle, exc: BaseException) -> None:
        """Record a stage failure in the run's errors (once per plugin and code)."""
        entry = error_entry(exc, handle.plugin)
        seen = {(e["plugin"], e["code"]) for e in self.summary.errors}
        if (entry["plugin"], entry["code"]) not in seen and len(self.summary.errors) < 100:
            self.summary.errors.append(entry)
        self.summary.status = "failed"

    def letter(self, letter: DeadLetter) -> None:
        """Keep a dead letter: with the batch being processed in this thread (written in the
        transaction of its records and checkpoint, so a killed run neither loses nor repeats
        it), else at once (an analyzer's, after its records were stored)."""
        held = getattr(self._held, "letters", None)
        if held is not None:
            held.append(letter)
        else:
            self.store.add_dead_letters(self.summary.run_id, [letter])
        self.count(letter)

    def count(self, letter: DeadLetter) -> None:
        """Count a dead letter in the run, once per (source, record, plugin): the store keeps
        one letter per key, so a record id refused twice in a run counts once."""
        record = letter.record
        rid = letter.record_id if letter.record_id is not None else (record.id if record else None)
        with self._counting:  # the consumer and the sink thread both count
            if rid is not None:
                key = (letter.source, rid, letter.plugin)
                if key in self._lettered:
                    return
                self._lettered.add(key)
            self.summary.dead_letters += 1

    def dead(self, source: str, record: Record, handle: StageHandle, exc: BaseException) -> None:
        entry = error_entry(exc, handle.plugin)
        reason = exc.reason if isinstance(exc, SkipRecord) else entry["message"]
        self.letter(
            DeadLetter(source, record, handle.plugin, entry["code"], reason, None,
                       entry["traceback"])
        )  # fmt: skip
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
        self.letter(DeadLetter(source, None, handle.plugin, exc.code, exc.reason, record_id))
        self.stats(handle).failed(exc.code)

    def batch(self, item: Batch) -> Done:
        """First stage (consumer thread): count the batch and run the processors."""
        letters: list[DeadLetter] = []
        self._held.letters = letters
        try:
            item, records = self._batch(item)
        finally:
            self._held.letters = None
        return item, records, letters

    def _batch(self, item: Batch) -> tuple[Batch, list[Record]]:
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
        # processors may change anything else, not move records to another source. (The
        # source's batcher already set it on what the connector yielded.)
        if self.processors and set(map(_source_of, records)) != {item.source}:
            records = [
                r if r.source == item.source else r.replace(source=item.source) for r in records
            ]
        # includes dead letters; processors may also split records, so never below 0
        summary.dropped += max(0, len(item.records) - len(records))
        return item, records

    def sink(self, done: Done) -> None:
        """Second stage (sink thread): store records, their batch's dead letters and the
        checkpoint in one transaction, then analyze."""
        item, records, letters = done
        summary = self.summary
        # Encoded here, not by the consumer: encoding there took the GIL from this thread
        # between the rows SQLite writes (it hands the GIL on at each one), a slower run.
        try:
            stored, duplicates = self.store.write_batch(
                item.source, records, summary.run_id, item.checkpoint, letters
            )
        except (TypeError, ValueError, msgspec.EncodeError):  # (UnicodeEncodeError too)
            records = self._storable(item.source, records, letters)
            stored, duplicates = self.store.write_batch(
                item.source, records, summary.run_id, item.checkpoint, letters
            )
        summary.stored += stored
        summary.duplicates += duplicates
        summary.updated = self.store.updated - self.updated_at_start
        if records and self.pipeline.analyze == "stream":
            self.analyze(records)
        if self.progress is not None:
            self.progress(summary)

    def _storable(
        self, source: str, records: list[Record], letters: list[DeadLetter]
    ) -> list[Record]:
        """Dead-letter (into ``letters``) the records the store cannot encode (WF406); keep
        the rest."""
        keep = []
        for record in records:
            why = self.store.encode_error(record)
            if why is None:
                keep.append(record)
                continue
            letter = DeadLetter(
                source, None, source, "WF406", f"record cannot be stored: {why}", record.id
            )
            letters.append(letter)
            self.count(letter)
        return keep

    def analyze_stored(self, sources: Sequence[str]) -> None:
        """Feed every analyzer all stored records of ``sources`` (``analyze = "stored"``)."""
        for batch in self.store.iter_batches(sources, self.pipeline.batch_size):
            self.analyze(batch)
