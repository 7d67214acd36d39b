"""Counters kept while a pipeline runs, and the ``run --json`` document (SPEC §6)."""

from __future__ import annotations

from typing import Any, final

import msgspec

from .._contract._errors import WiseflowError, plugin_traceback

__all__ = ["RunSummary", "StageStats", "error_entry"]


@final
class StageStats(msgspec.Struct, kw_only=True):
    """What one stage did: records in and out, calls, errors, time spent in it."""

    plugin: str
    kind: str
    state: str = "ACTIVE"
    records_in: int = 0
    records_out: int = 0
    calls: int = 0
    errors: int = 0
    error_codes: list[str] = msgspec.field(default_factory=list)
    seconds: float = 0.0
    log_dropped: int = 0  # log lines of the plugin the host's rate limit dropped
    #: What the operator must know beyond counts: breaker (state, opens), retries,
    #: restarts, calls served by a fallback, resources (CPU, memory) — from the handle.
    health: dict[str, Any] = msgspec.field(default_factory=dict)

    def failed(self, code: str) -> None:
        self.errors += 1
        if code not in self.error_codes:
            self.error_codes.append(code)

    def plugin_entry(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "calls": self.calls,
            "errors": self.errors,
            "error_codes": list(self.error_codes),
            "log_dropped": self.log_dropped,
            **self.health,
        }

    def stage_entry(self) -> dict[str, Any]:
        done = self.records_out or self.records_in
        rate = done / self.seconds if self.seconds > 0 else None
        return {
            "plugin": self.plugin,
            "kind": self.kind,
            "in": self.records_in,
            "out": self.records_out,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "records_per_s": round(rate, 1) if rate else None,
        }


@final
class RunSummary(msgspec.Struct, kw_only=True):
    """The outcome of :func:`~wiseflow._pipeline.run_pipeline`.

    ``to_dict()`` is the SPEC §6 ``run --json`` document, with extra keys: ``pipeline``,
    ``stages`` (per-stage counts and timings), ``seconds``, ``records_per_s`` and
    ``dead_letter_sample`` (the run's first 20 dead letters, without record bodies).
    ``status`` is ``"failed"`` when a stage raised (a source stopped, an analyzer failed);
    dead letters alone leave it ``"ok"`` (the CLI still exits 1 for them).
    """

    run_id: int
    pipeline: str
    status: str = "ok"
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    updated: int = 0  # of the duplicates: stored before, changed since, updated in place
    dropped: int = 0
    dead_letters: int = 0
    stages: dict[str, StageStats] = msgspec.field(default_factory=dict)
    analyzers: dict[str, Any] = msgspec.field(default_factory=dict)
    errors: list[dict[str, Any]] = msgspec.field(default_factory=list)
    dead_letter_sample: list[dict[str, Any]] = msgspec.field(default_factory=list)
    report: str | None = None
    started: str = ""
    finished: str = ""
    seconds: float = 0.0
    replay: bool = False  # a replay of dead letters (``wiseflow dead-letters replay``)
    replayed: int = 0  # dead letters sent through again (replays only)
    not_replayable: int = 0  # dead letters without a record or a stage to replay from

    def to_dict(self) -> dict[str, Any]:
        rate = self.fetched / self.seconds if self.seconds > 0 else 0.0
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "records": {
                "fetched": self.fetched,
                "stored": self.stored,
                "duplicates": self.duplicates,
                "updated": self.updated,
                "dead_letters": self.dead_letters,
                "dropped": self.dropped,
            },
            "plugins": {name: s.plugin_entry() for name, s in self.stages.items()},
            "stages": {name: s.stage_entry() for name, s in self.stages.items()},
            "analyzers": self.analyzers,
            "errors": self.errors,
            "dead_letter_sample": self.dead_letter_sample,
            "report": self.report,
            "started": self.started,
            "finished": self.finished,
            "seconds": round(self.seconds, 3),
            "records_per_s": round(rate, 1),
            "replay": self.replay,
            **(
                {"replayed": self.replayed, "not_replayable": self.not_replayable}
                if self.replay
                else {}
            ),
        }


def error_entry(exc: BaseException, plugin: str) -> dict[str, Any]:
    """``{"code", "plugin", "message", "hint", "traceback"}`` for any exception raised by a
    stage; ``traceback`` is the plugin's (its own frames first), or None."""
    if isinstance(exc, WiseflowError):
        return {
            "code": exc.code,
            "plugin": exc.plugin or plugin,
            "message": exc.message,
            "hint": exc.hint,
            "traceback": exc.traceback,
        }
    return {
        "code": "WF400",
        "plugin": plugin,
        "message": f"{type(exc).__name__}: {exc}",
        "hint": "see `wiseflow runs show RUN` for the traceback",
        "traceback": plugin_traceback(exc),
    }
