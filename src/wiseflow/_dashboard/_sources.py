"""What the dashboard shows, read from the data dir: live runs and the store (read-only).

Live runs are the snapshots that running hosts write to ``<data_dir>/metrics/<pid>.json``
(the collector's document); past runs, dead letters and reports come from the store, opened
read-only (``mode=ro``: the dashboard never writes to it, never migrates it). Every list is
bounded; plugin-controlled text arrives bounded by the collector or is cut here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, final

from .._host._metering import post_request, read_snapshots
from .._host._metering._collector import NAME_CHARS, TRACEBACK_CHARS, bounded
from .._store import DB_NAME
from .._store._codec import decode_run
from .._store._dead import SELECT as DEAD_SELECT
from .._store._dead import as_dict as dead_as_dict

__all__ = ["MAX_DEAD_LETTERS", "MAX_HOSTS", "MAX_RUNS", "Busy", "Sources", "Unknown"]

MAX_HOSTS = 16
MAX_RUNS = 50
MAX_DEAD_LETTERS = 200
REPORT_TYPES = {".html": "text/html", ".md": "text/markdown", ".json": "application/json"}


class Unknown(LookupError):
    """No such instance, run or report."""


class Busy(RuntimeError):
    """A replay is already running."""


@final
class Sources:
    """The data dir's live runs and store, and the two actions (requests, replay).

    Args:
        data_dir: the data dir of the runs to show.
        pipelines: pipeline files by pipeline name (for replay), beside those live runs
            publish.
        config: the ``wiseflow.toml`` a replay runs with (None: the default lookup).
    """

    def __init__(
        self, data_dir: Path, *, pipelines: dict[str, str] | None = None, config: str | None = None
    ) -> None:
        self.data_dir = data_dir
        self.metrics_dir = data_dir / "metrics"
        self.pipelines = dict(pipelines or {})
        self.config = config
        self._replay: subprocess.Popen[bytes] | None = None
        self._replay_out: Path | None = None
        self._lock = threading.Lock()

    # -- live ----------------------------------------------------------------------------------

    def hosts(self) -> list[dict[str, Any]]:
        """Snapshots of the running hosts (at most :data:`MAX_HOSTS`)."""
        return read_snapshots(self.metrics_dir)[:MAX_HOSTS]

    def live(self) -> dict[str, Any]:
        """Plugins, stages, errors and events of every running host, each row with its host."""
        docs = self.hosts()
        hosts, plugins, stages, events, errors = [], [], [], [], []
        for d in docs:
            pid = d.get("host_pid")
            run = d.get("run") or {}
            hosts.append(
                {
                    "pid": pid,
                    "label": bounded(d.get("label"), NAME_CHARS),
                    "written": d.get("written"),
                    "uptime_s": d.get("uptime_s"),
                    "run": {k: run.get(k) for k in ("run_id", "pipeline", "status", "records")},
                }
            )
            plugins += [{**p, "host_pid": pid} for p in d.get("plugins", ())]
            stages += [{**s, "host_pid": pid} for s in d.get("stages", ())]
            events += [{**e, "host_pid": pid} for e in d.get("events", ())]
            errors += [{**e, "host_pid": pid} for e in d.get("errors", ())]
        events.sort(key=lambda e: e.get("time") or 0)
        return {
            "hosts": hosts,
            "plugins": plugins,
            "stages": stages,
            "events": events[-200:],
            "errors": errors[-50:],
        }

    def plugin(self, name: str) -> dict[str, Any]:
        for p in self.live()["plugins"]:
            if p.get("name") == name:
                found: dict[str, Any] = p
                return found
        raise Unknown(f"no running instance named {name!r}")

    # -- the store (read-only) -------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        path = self.data_dir / DB_NAME
        if not path.is_file():
            return []
        try:
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5.0)
        except sqlite3.Error:
            return []
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.Error:
            return []  # no tables yet (a store being created), or locked past the timeout
        finally:
            conn.close()

    def runs(self, limit: int = MAX_RUNS) -> list[dict[str, Any]]:
        """The latest runs, newest first, as ``runs list`` shows them."""
        rows = self._query(
            "SELECT run_id, pipeline, started, finished, status, summary FROM runs"
            " ORDER BY run_id DESC LIMIT ?",
            (max(1, min(limit, MAX_RUNS)),),
        )
        return [_run_row(decode_run(r)) for r in rows]

    def run(self, run_id: int) -> dict[str, Any]:
        """One run's stored document (``runs show``), bounded."""
        rows = self._query(
            "SELECT run_id, pipeline, started, finished, status, summary FROM runs"
            " WHERE run_id = ?",
            (run_id,),
        )
        if not rows:
            raise Unknown(f"no run {run_id}")
        run = decode_run(rows[0])
        return {**_run_row(run), "summary": run.get("summary")}

    def dead_letters(
        self, run_id: int | None = None, limit: int = MAX_DEAD_LETTERS
    ) -> list[dict[str, Any]]:
        """Dead letters (of one run), newest first, without record bodies."""
        limit = max(1, min(limit, MAX_DEAD_LETTERS))
        if run_id is None:
            rows = self._query(DEAD_SELECT + " ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._query(
                DEAD_SELECT + " WHERE run_id = ? ORDER BY seq DESC LIMIT ?", (run_id, limit)
            )
        out = []
        for row in rows:
            d = dead_as_dict(row)
            out.append(
                {
                    "seq": d["seq"],
                    "run_id": d["run_id"],
                    "source": bounded(d["source"], NAME_CHARS),
                    "record_id": bounded(d["record_id"], NAME_CHARS),
                    "plugin": bounded(d["plugin"], NAME_CHARS),
                    "code": bounded(d["code"], 16),
                    "reason": bounded(d["reason"]),
                    "traceback": bounded(d["traceback"], TRACEBACK_CHARS),
                    "time": d["time"],
                }
            )
        return out

    def report(self, run_id: int) -> tuple[Path, str]:
        """The report file a run wrote, and its media type."""
        summary = self.run(run_id).get("summary") or {}
        where = summary.get("report")
        if not isinstance(where, str) or not where:
            raise Unknown(f"run {run_id} wrote no report")
        path = Path(where)
        kind = REPORT_TYPES.get(path.suffix.lower())
        # a relative path is as the operator typed it, in the folder the run ran from: most
        # often the one holding the data dir (`.wiseflow` beside wiseflow.toml). Never the
        # dashboard's own working folder: another run's report.html may be there.
        found = path if path.is_absolute() else self.data_dir.parent / path
        if kind is None or not found.is_file():
            raise Unknown(f"the report of run {run_id} is not there any more")
        return found, kind

    # -- actions -----------------------------------------------------------------------------------

    def request(self, action: str, instance: str) -> dict[str, Any]:
        """Ask the running host that has ``instance`` to ``disable`` or ``enable`` it."""
        for host in self.hosts():
            names = [p.get("name") for p in host.get("plugins", ())]
            pid = host.get("host_pid")
            if instance in names and isinstance(pid, int):
                try:
                    key = host.get("host_key")
                    to = key if isinstance(key, str) and key.replace("-", "").isdigit() else pid
                    rid = post_request(self.metrics_dir, to, action, instance)
                except OSError:
                    continue  # the host ended meanwhile, or takes no requests
                return {"request": rid, "host_pid": pid, "action": action, "instance": instance}
        raise Unknown(f"no running host has an instance named {instance!r}")

    def pipeline_files(self) -> dict[str, str]:
        """Pipeline files by name: given ones, and those running hosts published."""
        found = dict(self.pipelines)
        for host in self.hosts():
            run = host.get("run") or {}
            if isinstance(run.get("pipeline"), str) and isinstance(run.get("pipeline_file"), str):
                found.setdefault(run["pipeline"], run["pipeline_file"])
        return found

    def replay(self, run_id: int) -> dict[str, Any]:
        """Start ``wiseflow dead-letters replay`` of run ``run_id`` in a process of its own."""
        pipeline = self.run(run_id)["pipeline"]
        file = self.pipeline_files().get(pipeline)
        if file is None:
            raise Unknown(
                f"the pipeline file of {pipeline!r} is not known: start the dashboard with "
                f"--pipeline FILE"
            )
        with self._lock:
            if self._replay is not None and self._replay.poll() is None:
                raise Busy("a replay is already running")
            logs = self.data_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            argv = [sys.executable, "-m", "wiseflow", "--json", "--data-dir", str(self.data_dir)]
            if self.config:
                argv += ["--config", self.config]
            argv += ["dead-letters", "replay", file, "--run", str(run_id)]
            out = self._replay_out = logs / f"replay-{int(time.time() * 1000)}.json"
            with out.open("wb") as sink:
                self._replay = subprocess.Popen(
                    argv, stdout=sink, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
                )
            return {"replay": {"pid": self._replay.pid, "run": run_id, "pipeline": pipeline,
                               "output": str(out)}}  # fmt: skip

    def replay_status(self) -> dict[str, Any] | None:
        """The last replay started here: running, its exit code, its error (if it failed)."""
        proc = self._replay
        if proc is None:
            return None
        code = proc.poll()
        error = None
        if code is not None and self._replay_out is not None:
            with contextlib.suppress(OSError, ValueError):
                doc = json.loads(self._replay_out.read_bytes()[:200_000])
                err = doc.get("error") if isinstance(doc, dict) else None
                if isinstance(err, dict):
                    error = {k: bounded(err.get(k)) for k in ("code", "message", "hint")}
        return {"pid": proc.pid, "running": code is None, "exit": code, "error": error}

    def close(self, timeout: float = 10.0) -> None:
        """Wait for a replay still running (then stop it)."""
        proc = self._replay
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    summary = run.get("summary") or {}
    return {
        "run_id": run["run_id"],
        "pipeline": bounded(run["pipeline"], NAME_CHARS),
        "status": run["status"],
        "started": run["started"],
        "finished": run["finished"],
        "records": summary.get("records", {}),
        "replay": bool(summary.get("replay", False)),
        "report": bool(summary.get("report")),
    }
