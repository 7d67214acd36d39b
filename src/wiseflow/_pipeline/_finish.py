"""The end of a run: analyzer results, the report, the run's document in the store."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._contract._plugin import Figure
from .._policy._redact import Redactor
from ._consumer import Consumer
from ._model import Pipeline
from ._protocol import StageHandle
from ._summary import RunSummary, error_entry

__all__ = ["finish", "state_of"]

log = logging.getLogger("wiseflow.pipeline")


def _figure(item: Any) -> Figure | str:
    """A figure as rendered, or as it arrives over IPC (``{"title", "body"}``)."""
    if isinstance(item, dict) and "body" in item:
        return Figure(str(item.get("title", "")), str(item["body"]))
    return item if isinstance(item, Figure | str) else str(item)


def state_of(handle: StageHandle) -> str:
    """The handle's lifecycle state name, if it has one (``ACTIVE`` otherwise)."""
    state = getattr(handle, "state", "ACTIVE")
    return str(getattr(state, "value", state))


def _health(handle: StageHandle | None) -> dict[str, Any]:
    """Breaker, retries, restarts, fallback calls and resources of a stage's plugin."""
    describe = getattr(handle, "describe", None)
    if not callable(describe):
        return {}
    try:  # read from the OS now: the last periodic sample may be half a second old
        d = describe(sample=True)
    except Exception:
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
        **({"behaviour": d["behaviour"]} if d.get("behaviour") else {}),
    }


def _settle(run: Consumer, summary: RunSummary) -> None:
    """Each plugin's data dir, checked once more now that its calls are over.

    After a call the data-dir guard checks only when its throttle allows: the calls that
    filled the dir may have been the run's last ones, and the crossing is reported here
    (WF403, the plugin in ERROR) rather than by the next run. A plugin already in ERROR
    was stopped by a call; its guard is left alone.
    """
    for name, stats in summary.stages.items():
        handle = run.handles.get(name)
        if handle is None or stats.state == "ERROR" or state_of(handle) == "ERROR":
            continue
        settle = getattr(getattr(getattr(handle, "meter", None), "watch", None), "settle", None)
        if not callable(settle):
            continue
        try:
            err = settle()
        except Exception:  # a check must never stop the run being recorded
            log.exception("checking the data dir of plugin %s failed", name)
            continue
        if isinstance(err, BaseException):
            entry = error_entry(err, stats.plugin)
            stats.failed(entry["code"])
            stats.state = "ERROR"
            summary.errors.append(entry)


def _log_drops(run: Consumer, summary: RunSummary) -> None:
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


def finish(
    run: Consumer, summary: RunSummary, t0: float, report: str | Path | None, pipeline: Pipeline
) -> None:
    """Collect analyzer results, write the report, close the run record."""
    figures: dict[str, list[Figure | str]] = {}
    if summary.status == "interrupted":  # plugins may be mid-call: record the run and stop
        summary.seconds = time.perf_counter() - t0
        summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
        run.store.finish_run(summary.run_id, summary.status, summary.to_dict())
        return
    _settle(run, summary)
    for name, stats in summary.stages.items():
        handle = run.handles.get(name)
        if handle is not None and stats.state != "ERROR":
            stats.state = state_of(handle)
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
        from ._report import render_report

        summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
        summary.seconds = time.perf_counter() - t0  # the report's duration includes render()
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
    summary.seconds = time.perf_counter() - t0  # wall time up to the run's end
    run.store.finish_run(summary.run_id, summary.status, summary.to_dict())
