"""``wiseflow runs list|show``, ``wiseflow dead-letters list|replay``: what past runs did.

Reading commands: a data dir without a store shows no runs and is not created. Opening an
existing store marks runs left ``running`` by a host that was killed as ``crashed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .._contract._errors import DiscoveryError
from .._policy._redact import redact_all
from ._behaviour import behaviour_lines
from ._output import fitted_table, shown
from ._session import Session, session_of
from ._text import terminal_safe

__all__ = ["register"]


def _open(s: Session) -> Any:
    """The run store of the data dir, or None when there is none yet."""
    from .._store import DB_NAME, Store

    path = s.data_dir / DB_NAME
    return Store.open(path) if path.is_file() else None


def _clean(text: Any, limit: int = 2000) -> str:
    """Plugin-controlled text as one terminal-safe, redacted line (no markup)."""
    return shown(text, markup=False, limit=limit)


def _health_text(entry: dict[str, Any]) -> str:
    """``; breaker opened 2x (now closed), 3 fallback call(s), 1 restart(s), CPU 0.4 s``."""
    parts = []
    breaker = entry.get("breaker") or {}
    if breaker.get("opens"):
        parts.append(f"breaker opened {breaker['opens']}x (now {breaker.get('state')})")
    for key, label in (("fallback_calls", "fallback call(s)"), ("retries", "retries"),
                       ("restarts", "restart(s)")):  # fmt: skip
        if entry.get(key):
            parts.append(f"{entry[key]} {label}")
    res = entry.get("resources") or {}
    if res.get("cpu_s") is not None:
        parts.append(f"CPU {res['cpu_s']:.2f} s")
    peak = res.get("peak_rss_mb") or res.get("memory_mb")
    if peak is not None:
        parts.append(f"memory {peak:.1f} MB")
    return "; " + ", ".join(parts) if parts else ""


def _innermost(traceback: Any) -> str | None:
    """``'plugin.py:4 in lookup'``: where the plugin's traceback ends (its last frame)."""
    if not isinstance(traceback, str):
        return None
    import re

    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', traceback)
    if not frames:
        return None
    file, line, func = frames[-1]
    return f"{file}:{line} in {func}"


def _letter_hint(letter: dict[str, Any], errors: list[dict[str, Any]], run_id: int) -> str:
    """What to do about a dead letter: the hint of the run's error of the same code and
    plugin, if the run had one; else how to send the record through again."""
    same = (letter.get("code"), letter.get("plugin"))
    for err in errors:
        hint = err.get("hint")
        if (err.get("code"), err.get("plugin")) == same and isinstance(hint, str) and hint:
            return hint
    return (
        f"fix the cause, then `wiseflow dead-letters replay PIPELINE.toml --run {run_id}` "
        "sends the record through again"
    )


def _letter_lines(letter: dict[str, Any]) -> list[str]:
    """A dead letter as the CLI shows errors: which record, ``error CODE: reason (plugin)``,
    where the plugin's traceback ends, then the hint on a line of its own."""
    lines = [
        f"  record {_clean(letter.get('record_id'), 80)} from {_clean(letter.get('source'), 60)}:",
        f"    error {_clean(letter.get('code'), 10)}: {_clean(letter.get('reason'), 300)} "
        f"({_clean(letter.get('plugin'), 60)})",
    ]
    where = _innermost(letter.get("traceback"))
    if where:
        lines.append(f"      at {_clean(where, 300)}")
    if letter.get("hint"):
        lines.append(f"    hint: {_clean(letter['hint'], 300)}")
    return lines


def _row(run: dict[str, Any]) -> dict[str, Any]:
    summary = run.get("summary") or {}
    return {
        "run_id": run["run_id"],
        "pipeline": run["pipeline"],
        "status": run["status"],
        "started": run["started"],
        "finished": run["finished"],
        "records": summary.get("records", {}),
        "replay": bool(summary.get("replay", False)),
    }


@click.group(name="runs")
def runs() -> None:
    """Past runs of pipelines in this data dir."""


@runs.command("list")
@click.option("--limit", default=20, show_default=True, help="newest runs to show")
@click.pass_context
def list_(ctx: click.Context, limit: int) -> None:
    """The latest runs, newest first: status and record counts."""
    s = session_of(ctx)
    store = _open(s)
    rows = []
    if store is not None:
        with store:
            rows = [_row(r) for r in store.runs(limit=max(1, limit))]
    if s.out.json:
        s.out.document({"runs": rows})
        return
    cells = [
        [
            str(r["run_id"]), _clean(r["pipeline"], 40), _clean(r["status"], 20),
            str(r["started"] or "")[:19].replace("T", " "),
            str(r["records"].get("fetched", "-")), str(r["records"].get("stored", "-")),
            str(r["records"].get("dead_letters", "-")),
        ]
        for r in rows
    ]  # fmt: skip
    header = ("run", "pipeline", "status", "started", "fetched", "stored", "dead")
    s.out.out.print(
        fitted_table(s.out.out, f"{len(rows)} run(s)", header, cells, wrap=("pipeline",))
    )


@runs.command()
@click.argument("run_id", type=int)
@click.pass_context
def show(ctx: click.Context, run_id: int) -> None:
    """One run: its document as stored (status, counts, plugins, errors with tracebacks)."""
    s = session_of(ctx)
    store = _open(s)
    run = None
    letters: list[dict[str, Any]] = []
    if store is not None:
        with store:
            run = store.run(run_id)
            letters = store.dead_letters(run_id) if run is not None else []
    if run is None:
        raise DiscoveryError(
            f"no run {run_id} in {s.data_dir}",
            plugin=str(s.data_dir),
            code="WF602",
            hint="list the runs with `wiseflow runs list` (and check --data-dir)",
        )
    doc = dict(run.get("summary") or {})
    doc.update(run_id=run["run_id"], status=run["status"], pipeline=run["pipeline"])
    keys = ("seq", "source", "record_id", "plugin", "code", "reason", "traceback", "time")
    if letters:  # still in the table: as they are now
        doc["dead_letter_sample"] = [{k: d.get(k) for k in keys} for d in letters[:20]]
    # else: replayed since (or none); the run's own document keeps what it saw
    doc.setdefault("dead_letter_sample", [])
    for letter in doc["dead_letter_sample"]:
        letter["hint"] = _letter_hint(letter, doc.get("errors") or [], run_id)
    doc.setdefault("started", run["started"])
    doc["finished"] = run["finished"]
    if s.out.json:
        s.out.document(doc)
        return
    p = s.out.out.print
    rec = doc.get("records", {})
    p(f"run {run_id}: {_clean(doc['pipeline'], 80)} {doc['status']}", markup=False)
    p(f"started {doc.get('started')}, finished {doc.get('finished') or '-'}", markup=False)
    if rec:
        p(", ".join(f"{k} {v}" for k, v in rec.items()), markup=False)
    for name, entry in sorted((doc.get("plugins") or {}).items()):
        codes = ", ".join(_clean(c, 10) for c in entry.get("error_codes", [])) or "-"
        p(
            f"  {_clean(name, 60)}: {entry.get('state')}, {entry.get('calls', 0)} call(s), "
            f"{entry.get('errors', 0)} error(s) [{codes}]{_health_text(entry)}",
            markup=False,
        )
        for line in behaviour_lines(entry.get("behaviour")):
            p(f"    {_clean(line, 400)}", markup=False)
    for err in doc.get("errors") or []:
        p(
            f"error {_clean(err.get('code'), 10)}: {_clean(err.get('message'))} "
            f"({_clean(err.get('plugin'), 60)})",
            markup=False,
        )
        if err.get("hint"):
            p(f"  hint: {_clean(err['hint'])}", markup=False)
        if err.get("traceback"):
            block = terminal_safe(redact_all(str(err["traceback"])), multiline=True, limit=8000)
            p(block, markup=False)
    sample = doc["dead_letter_sample"]
    if sample:
        total = doc.get("records", {}).get("dead_letters", len(sample))
        p(f"dead letters: {total} (first {min(5, len(sample))} shown)", markup=False)
    for letter in sample[:5]:
        for line in _letter_lines(letter):
            p(line, markup=False)


@click.group(name="dead-letters")
def dead_letters() -> None:
    """Records that could not be processed, with the plugin and reason."""


@dead_letters.command("list")
@click.option("--run", "run_id", type=int, help="only those of this run")
@click.pass_context
def dl_list(ctx: click.Context, run_id: int | None) -> None:
    """Dead letters, oldest first: run, source, record id, plugin, code, reason."""
    s = session_of(ctx)
    store = _open(s)
    rows: list[dict[str, Any]] = []
    if store is not None:
        with store:
            rows = store.dead_letters(run_id)
    keys = ("seq", "run_id", "source", "record_id", "plugin", "code", "reason", "traceback", "time")
    docs = [{k: r.get(k) for k in keys} for r in rows]
    if s.out.json:
        s.out.document({"dead_letters": docs})
        return
    cells = [
        [
            str(d["seq"]), str(d["run_id"]), _clean(d["source"], 40), _clean(d["record_id"], 40),
            _clean(d["plugin"], 40), _clean(d["code"], 10), _clean(d["reason"], 200),
        ]
        for d in docs
    ]  # fmt: skip
    header = ("seq", "run", "source", "record", "plugin", "code", "reason")
    title = f"{len(docs)} dead letter(s)"
    s.out.out.print(
        fitted_table(s.out.out, title, header, cells, optional=("seq", "source"),
                     wrap=("record", "reason"))
    )  # fmt: skip


def register(cli: click.Group) -> None:
    cli.add_command(runs)
    cli.add_command(dead_letters)


@dead_letters.command()
@click.argument("pipeline_file", metavar="PIPELINE.toml", type=click.Path(path_type=Path))
@click.option("--run", "run_id", type=int, help="only the dead letters of this run")
@click.option("--plugin", help="only the dead letters of this plugin")
@click.option("--report", type=click.Path(path_type=Path), help="write the report here")
@click.pass_context
def replay(
    ctx: click.Context,
    pipeline_file: Path,
    run_id: int | None,
    plugin: str | None,
    report: Path | None,
) -> None:
    """Send dead letters through the pipeline again, from the stage that failed them.

    What succeeds is stored and leaves the dead letters; what fails again stays, with the
    new reason. A replay is a run of its own; exit 0 when everything replayed was stored.
    """
    from .._run._run import stages
    from ._run import finish, host_setup

    s = session_of(ctx)
    with stages(s.pm, pipeline_file, report=report, kinds=("processor", "analyzer")) as checked:
        host_setup(s.data_dir)
        result = checked.replay(run_id=run_id, plugin=plugin)
    finish(s, result.to_dict(), not result.ok, pipeline_file)
