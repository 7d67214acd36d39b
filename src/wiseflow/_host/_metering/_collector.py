"""The one collector behind ``wiseflow top``, the Prometheus endpoint and the dashboard.

A run keeps one :class:`Collector`. It reads every plugin instance's figures (the handles'
``describe``), keeps a short history of CPU, memory and records per instance (bounded:
halved in resolution when full, so it always spans the whole run), the run's stages and
counts (handed over after every batch), lifecycle and host events (from the manager's event
bus) and the run's latest errors. :meth:`Collector.snapshot` is the document every view reads:
the run writes it to ``<data_dir>/metrics/<pid>.json`` every second (``MetricsWriter``), so
other processes (``wiseflow top``, ``wiseflow dashboard``) show it live.

Everything in it that a plugin controls (names, reasons, messages, tracebacks) is cut to a
bound here; the views escape it (terminal-safe text, HTML text nodes).

Control: operators' requests (disable or enable an instance) arrive as small JSON files in
``<data_dir>/metrics/<pid>.control/`` (written by the dashboard, see :func:`post_request`).
The collector takes at most :data:`MAX_REQUESTS` per tick, checks each strictly, and hands it
to the ``control`` callable the run gave it; the result is published as an event.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, final

__all__ = [
    "HISTORY_POINTS",
    "MAX_EVENTS",
    "MAX_PLUGINS",
    "Collector",
    "bounded",
    "control_dir",
    "post_request",
]

#: Points of history kept per instance (then halved: every other point dropped).
HISTORY_POINTS = 120
MAX_EVENTS = 200
MAX_PLUGINS = 256
MAX_ERRORS = 20
MAX_REQUESTS = 16
MAX_REQUEST_BYTES = 4096
#: Bounds on plugin-controlled text in a snapshot.
NAME_CHARS = 200
TEXT_CHARS = 2000
TRACEBACK_CHARS = 8000

Describe = Callable[[], list[dict[str, Any]]]
Subscribe = Callable[[Callable[[Any], None]], Callable[[], None]]
Control = Callable[[str, str], str]


def bounded(value: Any, limit: int = TEXT_CHARS) -> str | None:
    """``value`` as text of at most ``limit`` characters (None stays None)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def control_dir(metrics_dir: Path, host: int | str) -> Path:
    """Where requests for the host ``host`` (its snapshot's ``host_key``: the pid, or
    ``pid-N`` for a second run of the same process) are dropped."""
    return metrics_dir / f"{host}.control"


def post_request(metrics_dir: Path, host: int | str, action: str, instance: str) -> str:
    """Drop a request (``disable``/``enable`` ``instance``) for the host ``host``; its id."""
    folder = control_dir(metrics_dir, host)
    if not folder.is_dir():
        raise FileNotFoundError(folder)
    rid = secrets.token_hex(8)
    body = json.dumps({"id": rid, "action": action, "instance": instance[:NAME_CHARS]})
    tmp = folder / f".{rid}.tmp"
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, folder / f"{rid}.json")
    return rid


@final
class _History:
    """Points ``(t, cpu_s, memory_mb, records_in, records_out, calls, errors)`` of one
    instance, evenly spread over the run (every other point dropped when full)."""

    __slots__ = ("every", "points", "seen")

    def __init__(self) -> None:
        self.points: list[tuple[float, ...]] = []
        self.every = 1  # keep one tick in `every`
        self.seen = 0

    def add(self, point: tuple[float, ...]) -> None:
        self.seen += 1
        if (self.seen - 1) % self.every:
            return
        self.points.append(point)
        if len(self.points) >= HISTORY_POINTS:
            self.points = self.points[::2]
            self.every *= 2


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


@final
class Collector:
    """Live figures of one run (see the module docstring).

    Args:
        describe: every instance's figures now (``[h.describe(sample=True) ...]``).
        subscribe: subscribes a function to the manager's events; returns unsubscribe.
        control: applies an operator's request ``(action, instance)``; returns what it did.
        redact: masks granted secrets in event reasons and stage errors.
        label: names the host in ``top`` ("run demo").
    """

    def __init__(
        self,
        describe: Describe,
        *,
        subscribe: Subscribe | None = None,
        control: Control | None = None,
        redact: Callable[[str], str] | None = None,
        label: str = "",
    ) -> None:
        self.describe = describe
        self.redact = redact or (lambda text: text)
        self.control = control
        self.label = label
        self.run: dict[str, Any] = {}
        self._summary: Any = None
        self._history: dict[str, _History] = {}
        self._events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self._lock = threading.Lock()
        self._t0 = time.time()
        self._unsubscribe = subscribe(self._event) if subscribe is not None else None
        self.requests_dropped = 0
        self.last: dict[str, Any] | None = None

    # -- what the run hands over ------------------------------------------------------------

    def begin(self, pipeline: str, pipeline_file: str | None) -> None:
        self.run = {"pipeline": bounded(pipeline, NAME_CHARS), "pipeline_file": pipeline_file}

    def observe(self, summary: Any) -> None:
        """The engine's summary so far (called after every batch: only a reference kept)."""
        self._summary = summary

    def _event(self, event: Any) -> None:
        self.note(
            getattr(event, "event", "") or "transition",
            str(getattr(event, "plugin", "")),
            str(getattr(event, "reason", "")),
            old=getattr(getattr(event, "old", None), "value", None),
            new=getattr(getattr(event, "new", None), "value", None),
        )

    def note(
        self, kind: str, plugin: str, reason: str, *, old: str | None = None, new: str | None = None
    ) -> None:
        """Add an event to the timeline (bounded)."""
        with self._lock:
            self._events.append(
                {
                    "time": time.time(),
                    "event": bounded(kind, NAME_CHARS),
                    "plugin": bounded(plugin, NAME_CHARS),
                    "old": old,
                    "new": new,
                    "reason": bounded(self.redact(reason)),
                }
            )

    def keep(self, summary: Any, points: int = 60) -> bool:
        """Put each stage's resource history into ``summary`` (the run's document), cut to
        ``points`` evenly spread points ``[t, cpu_s, memory_mb, records_out]``, so the store
        keeps it with the run. False when there was nothing to keep."""
        self.plugins()  # the figures at the end, as the last point
        kept = False
        with self._lock:
            for name, st in summary.stages.items():
                hist = self._history.get(name)
                if hist is None or not hist.points:
                    continue
                step = max(1, -(-len(hist.points) // points))
                series = [[p[0], p[1], p[2], p[4]] for p in hist.points[::step]]
                st.health.setdefault("resources", {})["history"] = series
                kept = True
        return kept

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- the snapshot -------------------------------------------------------------------------

    def plugins(self) -> list[dict[str, Any]]:
        """Every instance's figures now, with its history appended (bounded)."""
        now = time.time() - self._t0
        out = []
        for p in self.describe()[:MAX_PLUGINS]:
            name = str(p.get("name", ""))
            res = p.get("resources") or {}
            point = (
                round(now, 2), _num(res.get("cpu_s")), _num(res.get("memory_mb")),
                _num(p.get("records_in")), _num(p.get("records_out")),
                _num(p.get("calls")), _num(p.get("errors")),
            )  # fmt: skip
            with self._lock:
                hist = self._history.setdefault(name, _History())
                hist.add(point)
                points = list(hist.points)
            row = _bound_plugin(p)
            row["history"] = points
            out.append(row)
        return out

    def stages(self) -> list[dict[str, Any]]:
        """Per stage: records in and out, errors, records/s, and the records queued before it
        (what the stage before handed on and it has not taken in yet)."""
        summary = self._summary
        if summary is None:
            return []
        elapsed = max(1e-9, time.time() - self._t0)
        rows: list[dict[str, Any]] = []
        handed_on: int | None = None
        for name, st in list(summary.stages.items())[:MAX_PLUGINS]:
            queued = None
            if st.kind == "processor" and handed_on is not None:
                queued = max(0, handed_on - st.records_in)
            rows.append(
                {
                    "name": bounded(name, NAME_CHARS),
                    "plugin": bounded(st.plugin, NAME_CHARS),
                    "kind": st.kind,
                    "state": st.state,
                    "in": st.records_in,
                    "out": st.records_out,
                    "errors": st.errors,
                    "error_codes": [bounded(c, 16) for c in st.error_codes[:20]],
                    "records_per_s": round((st.records_out or st.records_in) / elapsed, 1),
                    "queued": queued,
                }
            )
            if st.kind == "connector":
                handed_on = (handed_on or 0) + st.records_out
            elif st.kind == "processor":
                handed_on = st.records_out
        return rows

    def errors(self) -> list[dict[str, Any]]:
        """The run's latest stage errors (bounded), newest last."""
        summary = self._summary
        if summary is None:
            return []
        out = []
        for e in list(summary.errors[-MAX_ERRORS:]):
            row = _bound_error(e)
            for key in ("message", "hint", "traceback"):
                if row[key] is not None:
                    row[key] = self.redact(row[key])
            out.append(row)
        return out

    def snapshot(self) -> dict[str, Any]:
        """The document every view reads (``version`` 2; ``plugins`` as in version 1)."""
        summary = self._summary
        run = dict(self.run)
        if summary is not None:
            run.update(
                run_id=summary.run_id,
                status=summary.status,
                started=summary.started,
                records={
                    "fetched": summary.fetched,
                    "stored": summary.stored,
                    "duplicates": summary.duplicates,
                    "dead_letters": summary.dead_letters,
                    "dropped": summary.dropped,
                },
            )
        plugins = self.plugins()
        errors = self.errors()
        last: dict[str, dict[str, Any]] = {}
        for e in errors:
            last[str(e.get("plugin"))] = e
        for p in plugins:
            p["last_error"] = last.get(str(p.get("name"))) or p.get("last_error")
        with self._lock:
            events = list(self._events)
        self.last = doc = {
            "version": 2,
            "host_pid": os.getpid(),
            "label": bounded(self.label, NAME_CHARS),
            "written": _iso(time.time()),
            "epoch": time.time(),
            "uptime_s": round(time.time() - self._t0, 2),
            "run": run,
            "plugins": plugins,
            "stages": self.stages(),
            "errors": errors,
            "events": events,
        }
        return doc

    def documents(self) -> list[dict[str, Any]]:
        """The latest snapshot (taken now if none was yet), for scrapes: a scrape does not
        sample the workers again."""
        return [self.last if self.last is not None else self.snapshot()]

    # -- operators' requests ------------------------------------------------------------------

    def take_requests(self, folder: Path) -> int:
        """Apply the requests dropped in ``folder`` (at most :data:`MAX_REQUESTS`)."""
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
        except OSError:
            return 0
        done = 0
        for name in names[:MAX_REQUESTS]:
            path = folder / name
            try:
                raw = path.read_bytes()[: MAX_REQUEST_BYTES + 1]
            except OSError:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
            self._apply(raw)
            done += 1
        self.requests_dropped += max(0, len(names) - MAX_REQUESTS)
        return done

    def _apply(self, raw: bytes) -> None:
        try:
            req = json.loads(raw) if len(raw) <= MAX_REQUEST_BYTES else None
        except ValueError:
            req = None
        ok = (
            isinstance(req, dict)
            and req.get("action") in ("disable", "enable")
            and isinstance(req.get("instance"), str)
        )
        if not ok or self.control is None or not isinstance(req, dict):
            self.note("request-refused", "", "a malformed or unsupported request was dropped")
            return
        action, instance = str(req["action"]), str(req["instance"])[:NAME_CHARS]
        try:
            what = self.control(action, instance)
        except Exception as exc:
            self.note("request-failed", instance, f"{action}: {exc}")
            return
        self.note(f"request-{action}", instance, what)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _bound_plugin(p: dict[str, Any]) -> dict[str, Any]:
    out = dict(p)
    for key in ("name", "plugin", "version", "kind", "origin", "level", "state", "fallback"):
        if key in out:
            out[key] = bounded(out[key], NAME_CHARS)
    out["error_codes"] = [bounded(c, 16) for c in list(out.get("error_codes") or ())[:20]]
    return out


def _bound_error(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": bounded(e.get("code"), 16),
        "plugin": bounded(e.get("plugin"), NAME_CHARS),
        "message": bounded(e.get("message")),
        "hint": bounded(e.get("hint")),
        "traceback": bounded(e.get("traceback"), TRACEBACK_CHARS),
        "record_id": bounded(e.get("record_id"), NAME_CHARS),
    }
