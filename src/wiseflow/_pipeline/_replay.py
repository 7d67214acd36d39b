"""Replaying dead letters: each record goes through the pipeline again from the stage that
failed it, through the code as it is now.

A replay is a run of its own (``"replay": true`` in its document). What succeeds is stored
(and analyzed, as in a run) and its dead letter leaves the table; what fails again gets a
new dead letter with the new reason, under the replay's run, and the old one goes. Dead
letters without a record (a connector's skipped id, a record the store could not encode)
or from a plugin that is not a processor or analyzer of this pipeline cannot be replayed
and stay as they are; the replay counts them as ``not_replayable``.

The stored record is added before its old dead letter is removed: a replay killed between
the two leaves the dead letter, and replaying it again stores nothing twice (records are
keyed by source and id).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from .._contract._errors import DiscoveryError
from .._contract._record import Record
from .._store import Store
from ._consumer import Consumer, Progress
from ._finish import finish, state_of
from ._model import Pipeline
from ._protocol import StageHandle
from ._summary import RunSummary, StageStats

__all__ = ["replay_dead_letters", "require_run", "require_stage"]


def require_stage(pipeline: Pipeline, plugin: str) -> None:
    """Raise WF602 when ``plugin`` (``--plugin``) names no stage of ``pipeline``: a replay
    filtered by a mistyped name would replay nothing and look like success."""
    names = sorted({n for st in pipeline.stages for n in (st.plugin, st.name)})
    if plugin not in names:
        raise DiscoveryError(
            f"pipeline {pipeline.name!r} has no stage {plugin[:80]!r} (it has: {', '.join(names)})",
            plugin=plugin[:80],
            code="WF602",
            hint="give a plugin or instance name of the pipeline; `wiseflow dead-letters "
            "list` shows which plugin each dead letter is from",
        )


def require_run(database: Path, run_id: int) -> None:
    """Raise WF602 (not found, as ``runs show``) when run ``run_id`` is not in ``database``:
    a replay of a mistyped run would otherwise replay nothing and look like success."""
    if database.is_file():
        with Store.open(database) as store:
            if store.run(run_id) is not None:
                return
    raise DiscoveryError(
        f"no run {run_id} in {database.parent}",
        plugin=str(database.parent),
        code="WF602",
        hint="list the runs with `wiseflow runs list` (and check --data-dir)",
    )


def replay_dead_letters(
    pipeline: Pipeline,
    store: Store,
    processors: Sequence[StageHandle],
    analyzers: Sequence[StageHandle],
    letters: Sequence[dict[str, Any]],
    *,
    progress: Progress | None = None,
    report: str | Path | None = None,
) -> RunSummary:
    """Send ``letters`` (rows of :meth:`Store.dead_letters`) through the pipeline again.

    Returns:
        The replay's :class:`RunSummary` (``replay`` true; ``fetched`` = records replayed).
    """
    t0 = time.perf_counter()
    summary = RunSummary(
        run_id=store.begin_run(pipeline.name),
        pipeline=pipeline.name,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        replay=True,
    )
    for handle, kind in [(h, "processor") for h in processors] + [
        (h, "analyzer") for h in analyzers
    ]:
        summary.stages[handle.name] = StageStats(
            plugin=handle.plugin, kind=kind, state=state_of(handle)
        )
    run = Consumer(pipeline, store, summary, processors, analyzers)
    run.handles = {h.name: h for h in (*processors, *analyzers)}
    run.progress = progress
    groups, summary.not_replayable = _groups(letters, processors, analyzers)
    try:
        for (source, start), items in groups.items():
            for at in range(0, len(items), max(1, pipeline.batch_size)):
                chunk = items[at : at + pipeline.batch_size]
                _replay_chunk(run, source, start, chunk)
        if pipeline.analyze == "stored" and analyzers:  # as a run does: the whole history
            run.analyze_stored([s.name for s in pipeline.stages if s.kind == "connector"])
    except BaseException as exc:
        summary.status = "failed" if isinstance(exc, Exception) else "interrupted"
        raise
    finally:
        finish(run, summary, t0, report, pipeline)
    return summary


def _groups(
    letters: Sequence[dict[str, Any]],
    processors: Sequence[StageHandle],
    analyzers: Sequence[StageHandle],
) -> tuple[dict[tuple[str, int], list[tuple[int, Record]]], int]:
    """Replayable letters by (source, index of the processor to start at); and the rest."""
    start_of: dict[str, int] = {}
    for i, h in enumerate(processors):
        start_of.setdefault(h.plugin, i)
    for h in analyzers:
        start_of.setdefault(h.plugin, len(processors))  # stored again (a duplicate), analyzed
    groups: dict[tuple[str, int], list[tuple[int, Record]]] = {}
    skipped = 0
    for letter in letters:
        start = start_of.get(str(letter.get("plugin")))
        body = letter.get("record")
        if start is None or not isinstance(body, dict):
            skipped += 1
            continue
        try:
            record = msgspec.convert(body, type=Record)
        except msgspec.ValidationError:
            skipped += 1
            continue
        groups.setdefault((str(letter["source"]), start), []).append((int(letter["seq"]), record))
    return groups, skipped


def _replay_chunk(run: Consumer, source: str, start: int, chunk: list[tuple[int, Record]]) -> None:
    summary = run.summary
    records = [record for _, record in chunk]
    summary.fetched += len(records)
    for handle in run.processors[start:]:
        if not records:
            break
        stats = run.stats(handle)
        stats.records_in += len(records)
        records = run.process(handle, records, source)  # failures: new dead letters
        stats.records_out += len(records)
    records = [r if r.source == source else r.replace(source=source) for r in records]
    summary.dropped += max(0, len(chunk) - len(records))
    stored, duplicates = run.store.write_batch(source, records, summary.run_id, None)
    summary.stored += stored
    summary.duplicates += duplicates
    if records and run.pipeline.analyze == "stream":
        run.analyze(records)
    run.store.forget_dead_letters([seq for seq, _ in chunk])
    summary.replayed += len(chunk)
    if run.progress is not None:
        run.progress(summary)
