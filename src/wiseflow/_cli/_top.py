"""``wiseflow top``: live per-plugin state and resources of the running hosts.

A CLI process has no running plugins of its own, so ``top`` reads the snapshots that
running hosts (``wiseflow run``) write to ``<data_dir>/metrics/<pid>.json`` every second
(their collector's document, which the dashboard and Prometheus read too); snapshots of
hosts that are gone are skipped. ``--once`` prints one table, ``--json`` one document
(``{"hosts": [...], "plugins": [...], "runs": [...]}``), both for scripts and tests.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from ._session import session_of
from ._text import terminal_safe

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["register", "render_table", "rows_of", "runs_of"]

#: The table's columns; "host" only when several hosts write metrics.
COLUMNS = (
    "host",
    "plugin",
    "level",
    "state",
    "breaker",
    "calls",
    "errors",
    "retries",
    "fallback",
    "cpu s",
    "mem MB",
    "fds",
    "p50",
    "p95",
)
_TEXT_COLUMNS = frozenset(COLUMNS[:5])


def register(cli: click.Group) -> None:
    cli.add_command(top)


def rows_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per plugin of every snapshot (the ``--json`` ``plugins`` list)."""
    rows = []
    for doc in docs:
        for p in doc.get("plugins", ()):
            res = p.get("resources") or {}
            rows.append(
                {
                    "host_pid": doc.get("host_pid"),
                    "host": doc.get("label") or f"pid {doc.get('host_pid')}",
                    "name": p.get("name"),
                    "plugin": p.get("plugin"),
                    "kind": p.get("kind"),
                    "level": p.get("level"),
                    "state": p.get("state"),
                    "pid": p.get("pid"),
                    "breaker": (p.get("breaker") or {}).get("state", "closed"),
                    "calls": p.get("calls", 0),
                    "errors": p.get("errors", 0),
                    "retries": p.get("retries", 0),
                    "restarts": p.get("restarts", 0),
                    "fallback_calls": p.get("fallback_calls", 0),
                    "records_in": p.get("records_in", 0),
                    "records_out": p.get("records_out", 0),
                    "cpu_s": res.get("cpu_s"),
                    "memory_mb": res.get("memory_mb"),
                    "memory_source": res.get("memory_source"),
                    "fds": res.get("fds"),
                    "threads": res.get("threads"),
                    "p50_ms": p.get("p50_ms"),
                    "p95_ms": p.get("p95_ms"),
                }
            )
    return rows


def runs_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per host: its run (id, pipeline, status, records so far) and stages (the ``--json``
    ``runs`` list; older snapshots without them give empty entries)."""
    return [
        {
            "host_pid": doc.get("host_pid"),
            "run": doc.get("run") or {},
            "stages": doc.get("stages") or [],
        }
        for doc in docs
    ]


def _progress(docs: list[dict[str, Any]]) -> str:
    """``run 12: 1,200 fetched, 1,180 stored, 3 dead letters`` per host, one line each."""
    lines = []
    for doc in docs:
        run = doc.get("run") or {}
        rec = run.get("records") or {}
        if run.get("run_id") is None:
            continue
        lines.append(
            terminal_safe(
                f"{doc.get('label') or doc.get('host_pid')}: run {run['run_id']}: "
                f"{rec.get('fetched', 0):,} fetched, {rec.get('stored', 0):,} stored, "
                f"{rec.get('dead_letters', 0):,} dead letters",
                limit=300,
            )
        )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    """One table cell: numbers formatted; text one escaped line, never markup."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    from rich.markup import escape

    return escape(terminal_safe(value, limit=200))


_STATE_STYLE = {"ACTIVE": "green", "ERROR": "red", "DISABLED": "yellow"}
_BREAKER_STYLE = {"open": "red", "half-open": "yellow"}


def render_table(rows: list[dict[str, Any]], where: str, progress: str = "") -> Table:
    from rich import box
    from rich.table import Table

    hosts = sorted({str(r["host"]) for r in rows})
    several = len(hosts) > 1
    title = f"wiseflow top — {len(rows)} plugin(s), latency in ms"
    title += f" — {hosts[0]}" if len(hosts) == 1 else ""
    from rich.markup import escape

    caption = escape(f"{progress}\n{where}" if progress else where)
    table = Table(
        title=escape(title), caption=caption, box=box.SIMPLE_HEAD, pad_edge=False,
        collapse_padding=True,
    )  # fmt: skip
    for col in COLUMNS[0 if several else 1 :]:
        table.add_column(col, justify="left" if col in _TEXT_COLUMNS else "right")
    for r in rows:
        mem = r["memory_mb"]
        table.add_row(
            *([_cell(r["host"])] if several else []),
            _cell(r["name"]),
            _cell(r["level"]),
            f"[{_STATE_STYLE.get(r['state'], 'white')}]{_cell(r['state'])}[/]",
            f"[{_BREAKER_STYLE.get(r['breaker'], 'green')}]{_cell(r['breaker'])}[/]",
            _cell(r["calls"]),
            _cell(r["errors"]),
            _cell(r["retries"]),
            _cell(r["fallback_calls"]),
            _cell(r["cpu_s"]),
            _cell(mem) if mem is not None else "n/a" if r["level"] == "trusted" else "-",
            _cell(r["fds"]),
            _cell(r["p50_ms"]),
            _cell(r["p95_ms"]),
        )
    if not rows:
        table.caption = f"no running wiseflow host writes metrics to {where} (start `wiseflow run`)"
    return table


@click.command()
@click.option("--once", is_flag=True, help="print one table and exit")
@click.option("--interval", type=float, default=1.0, show_default=True, help="refresh seconds")
@click.pass_context
def top(ctx: click.Context, once: bool, interval: float) -> None:
    """Live per-plugin state and resources of running pipelines."""
    from .._host._metering import read_snapshots  # psutil: only for this command

    s = session_of(ctx)
    directory = s.data_dir / "metrics"
    if s.out.json:
        docs = read_snapshots(directory)
        hosts = [
            {"pid": d.get("host_pid"), "label": d.get("label"), "written": d.get("written")}
            for d in docs
        ]
        s.out.document(
            {"metrics_dir": str(directory), "hosts": hosts, "plugins": rows_of(docs),
             "runs": runs_of(docs)}
        )  # fmt: skip
        return
    if once or not s.out.out.is_terminal:  # a pipe or a log: a table per interval (`top -b`)
        try:
            while True:
                docs = read_snapshots(directory)
                s.out.out.print(render_table(rows_of(docs), str(directory), _progress(docs)))
                if once:
                    return
                s.out.out.file.flush()
                time.sleep(max(0.1, interval))
        except KeyboardInterrupt:
            return
    from rich.live import Live

    with Live(console=s.out.out, auto_refresh=False, screen=False) as live:
        try:
            while True:
                docs = read_snapshots(directory)
                table = render_table(rows_of(docs), str(directory), _progress(docs))
                live.update(table, refresh=True)
                time.sleep(max(0.1, interval))
        except KeyboardInterrupt:
            return
