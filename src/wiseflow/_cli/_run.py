"""``wiseflow run PIPELINE.toml``: parse the options, run through :func:`wiseflow.run_pipeline`'s
code path, print the document."""

from __future__ import annotations

import gc
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._output import Output
from ._session import session_of
from ._watch import watch_of, watch_options

if TYPE_CHECKING:  # the engine and store load only when `run` runs, not for every command
    from rich.table import Table

    from .._run._run import RunResult

__all__ = ["register"]


def register(cli: click.Group) -> None:
    cli.add_command(run)


def finish(s: Any, doc: dict[str, Any], failed: bool, pipeline_file: Path) -> None:
    """Print a run's document (``--json``: exactly it), exit 1 when it ``failed``."""
    if s.out.json:
        s.out.document(doc)
    else:
        _print_summary(s.out, doc, pipeline_file)
    if failed:
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("pipeline_file", metavar="PIPELINE.toml", type=click.Path(path_type=Path))
@click.option("--report", type=click.Path(path_type=Path), help="write the report here")
@click.option("--full-refresh", is_flag=True, help="ignore stored checkpoints")
@watch_options
@click.option("--dashboard", "with_dashboard", is_flag=True, help="serve the dashboard meanwhile")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8750, show_default=True,
    help="the dashboard's port",
)  # fmt: skip
@click.option("--metrics-port", type=click.IntRange(0, 65535), help="serve Prometheus /metrics")
@click.pass_context
def run(
    ctx: click.Context,
    pipeline_file: Path,
    report: Path | None,
    full_refresh: bool,
    watch: bool,
    poll: float,
    reapprove_dev: bool,
    with_dashboard: bool,
    port: int,
    metrics_port: int | None,
) -> None:
    """Run a pipeline: sources → processors → analyzers, stored in SQLite."""
    from click.core import ParameterSource

    from .._run._run import stages
    from ._dashboard import live_views

    for name, needs, on in (("poll", "--watch", watch), ("port", "--dashboard", with_dashboard)):
        if not on and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            raise click.UsageError(f"--{name} needs {needs}")  # never ignored silently
    s = session_of(ctx)
    with stages(s.pm, pipeline_file, report=report) as checked:
        host_setup(s.data_dir)
        watching = watch_of(s.out, watch=watch, poll=poll, reapprove_dev=reapprove_dev)
        views = live_views(
            s, checked, dashboard=with_dashboard, port=port, metrics_port=metrics_port
        )
        with views, _progress(s.out) as progress:
            seen: list[int] = []  # the run's id, once it has one
            try:
                result = checked.execute(
                    progress=_noting(seen, progress), full_refresh=full_refresh, watch=watching
                )
            except KeyboardInterrupt:
                _interrupted(s, seen, checked.pipeline.name, pipeline_file)
                raise
    finish(s, result.to_dict(), not result.ok, pipeline_file)


def _noting(
    seen: list[int], progress: Callable[[RunResult], None] | None
) -> Callable[[RunResult], None]:
    """``progress``, noting the run's id in ``seen`` first."""

    def note(result: RunResult) -> None:
        seen[:] = [result.run_id]
        if progress is not None:
            progress(result)

    return note


def _interrupted(s: Any, seen: list[int], pipeline: str, pipeline_file: Path) -> None:
    """Ctrl-C or SIGTERM ended the run: print it as recorded (status ``interrupted``), so
    that ``--json`` still answers with one document; the caller exits 130."""
    from .._store import DB_NAME, Store

    path = s.data_dir / DB_NAME
    if not path.is_file():
        return
    with Store.open(path) as store:
        run = store.run(seen[0]) if seen else None
        if run is None:  # interrupted before its first batch: its newest interrupted run
            run = next(
                (r for r in store.runs(limit=20)
                 if r["pipeline"] == pipeline and r["status"] == "interrupted"),
                None,
            )  # fmt: skip
    if run is None:
        return
    doc = dict(run.get("summary") or {})
    doc.update(run_id=run["run_id"], status=run["status"], pipeline=run["pipeline"])
    doc.setdefault("records", {"fetched": 0, "stored": 0, "duplicates": 0, "dead_letters": 0})
    doc.setdefault("errors", [])
    if s.out.json:
        s.out.document(doc)
    else:
        _print_summary(s.out, doc, pipeline_file)


def host_setup(data_dir: Path) -> None:
    """What only the CLI's own process sets up: the run log under the data dir, SIGTERM
    ending a run like Ctrl-C (an embedder's process and its signals are its own), and the
    cyclic GC left to what the run allocates (the process ends with the run)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    _log_to_file(data_dir / "logs" / "wiseflow.log")
    signal.signal(signal.SIGTERM, _interrupt)
    # Records die by reference counting; the collector found almost nothing in a 100,000
    # record run yet cost ~15% of the host's CPU, most of it walking the modules loaded so
    # far: those are frozen (never walked again), and it runs a tenth as often.
    gc.freeze()
    gc.set_threshold(7_000, 10, 10)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends a run like Ctrl-C: workers stopped, the run recorded as interrupted."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not break the cleanup
    raise KeyboardInterrupt(f"signal {signum}")


def _log_to_file(path: Path) -> None:
    """Host and plugin log lines of this run, as JSON lines, under the data dir."""
    import json
    import logging

    path.parent.mkdir(parents=True, exist_ok=True)

    class JsonLines(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            doc = {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
            fields = getattr(record, "fields", None)
            if isinstance(fields, dict):
                doc.update({k: v for k, v in fields.items() if k not in doc})
            return json.dumps(doc, default=str)

    from .._policy._redact import RedactingFilter

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(RedactingFilter())  # granted secrets never reach the log file
    handler.setLevel(logging.INFO)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("wiseflow")
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
        # the console keeps showing warnings and above only
        for h in logging.getLogger().handlers:
            h.setLevel(max(h.level, logging.WARNING))


@contextmanager
def _progress(out: Output) -> Iterator[Callable[[RunResult], None] | None]:
    """A live table on an interactive terminal (not with --json); None otherwise."""
    if out.json or not sys.stderr.isatty():
        yield None
        return
    from rich.live import Live

    t0 = time.perf_counter()
    with Live(console=out.err, refresh_per_second=4, transient=True) as live:

        def progress(result: RunResult) -> None:
            live.update(_progress_table(result, time.perf_counter() - t0))

        yield progress


def _progress_table(result: RunResult, elapsed: float) -> Table:
    from rich.table import Table

    from ._text import terminal_safe

    name = escape(terminal_safe(result.pipeline, limit=200))  # rich renders markup in titles
    table = Table(title=f"{name}: {result.fetched:,} fetched in {elapsed:.1f}s")
    for col in ("stage", "in", "out", "records/s", "errors"):
        table.add_column(col)
    for name, st in result.stages.items():
        done = st["out"] or st["in"]
        rate = f"{done / elapsed:,.0f}" if elapsed > 0 else "-"
        table.add_row(
            escape(terminal_safe(name, limit=200)), f"{st['in']:,}", f"{st['out']:,}", rate,
            str(st["errors"]),
        )  # fmt: skip
    return table


def _print_summary(out: Output, doc: dict[str, Any], pipeline_file: Path) -> None:
    from ._text import terminal_safe as safe

    rec = doc["records"]
    status = doc["status"]
    colour = "green" if status == "ok" and not rec["dead_letters"] else "yellow"
    out.out.print(
        f"[{colour}]{escape(safe(doc.get('pipeline', 'run')))} {escape(safe(status))}[/]: "
        f"{rec['fetched']:,} fetched, {rec['stored']:,} stored, {rec['duplicates']:,} "
        f"duplicates, {rec['dead_letters']:,} dead letters (run {doc['run_id']})"
    )
    for err in doc["errors"]:
        out.err.print(
            safe(f"error {err['code']}: {err['message']} ({err['plugin']})"), markup=False
        )
        if err.get("hint"):
            out.err.print(safe(f"  hint: {err['hint']}"), markup=False)
        if out.debug and err.get("traceback"):  # the plugin's, its own frames first
            out.err.print(safe(str(err["traceback"]), multiline=True, limit=None), markup=False)
    for letter in doc.get("dead_letter_sample", [])[:3] if out.debug else ():
        out.err.print(
            safe(f"dead letter {letter['record_id']} ({letter['plugin']}, {letter['code']}): "
                 f"{letter['reason']}"), markup=False,
        )  # fmt: skip
        if letter.get("traceback"):
            out.err.print(safe(str(letter["traceback"]), multiline=True, limit=None), markup=False)
    if rec["dead_letters"]:  # otherwise a partial run says nothing of what to do next
        out.err.print(
            safe(f"hint: `wiseflow runs show {doc['run_id']}` has each dead letter with the "
                 f"plugin's traceback (file and line); after a fix, `wiseflow dead-letters "
                 f"replay {pipeline_file}` sends them again"), markup=False,
        )  # fmt: skip
    if doc.get("report"):
        out.out.print(safe(f"report: {doc['report']}"), markup=False)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)
