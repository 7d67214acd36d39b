"""``wiseflow run PIPELINE.toml``: check everything, then stream records through plugins."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._errors import ConfigError, PipelineError, Problem
from ._output import Output
from ._session import session_of

if TYPE_CHECKING:  # the engine and store load only when `run` runs, not for every command
    from rich.table import Table

    from .._handle import PluginHandle
    from .._manager import PluginManager
    from .._pipeline import Pipeline, RunSummary
    from .._store import Store

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
@click.pass_context
def run(ctx: click.Context, pipeline_file: Path, report: Path | None, full_refresh: bool) -> None:
    """Run a pipeline: sources → processors → analyzers, stored in SQLite."""
    from .._metering import MetricsWriter
    from .._store import DB_NAME, Store

    s = session_of(ctx)
    pm = s.pm
    pipeline = prepare(s, pipeline_file, report)
    handles = start_stages(pm, pipeline, str(pipeline_file))
    # `wiseflow top` reads what this host writes here every second (removed at exit)
    metrics = MetricsWriter(
        lambda: [h.describe(sample=True) for h in pm.handles()],
        s.data_dir / "metrics",
        label=f"run {pipeline.name}",
    )
    with Store.open(s.data_dir / DB_NAME) as store, metrics:
        store.redactor = pm.redactor  # what the brokers handed out is masked in all it stores
        summary = _run(s.out, pipeline, store, handles, full_refresh, report)
    plugins_in_error = [h.name for h in pm.handles() if h.state.value == "ERROR"]
    finish(
        s,
        summary.to_dict(),
        summary.status != "ok" or bool(summary.dead_letters or plugins_in_error),
        pipeline_file,
    )


def prepare(s: Any, pipeline_file: Path, report: Path | None) -> Pipeline:
    """Everything a run checks before any plugin starts; logging and SIGTERM set up."""
    from .._pipeline import load_pipeline

    pm = s.pm
    discovery = pm.discover()
    kinds: dict[str, set[str]] = {}
    for cand in pm.admission().candidates:  # a candidate refused its name offers nothing
        kinds.setdefault(cand.manifest.name, set()).add(cand.manifest.kind)
    # a plugin whose manifest is broken, or refused, is "known": loading it says why
    known = (
        set(kinds)
        | {p.plugin for p in discovery.problems if p.plugin}
        | {c.manifest.name for c, _ in pm.admission().refused}
    )
    pipeline = load_pipeline(pipeline_file, known_plugins=known)
    _check_kinds(pipeline, kinds, pipeline_file)
    _check_report_path(report or (Path(pipeline.output.report) if pipeline.output.report else None))
    disabled = sorted(
        {st.plugin for st in pipeline.stages if not s.config.plugin(st.plugin).enabled}
    )
    if disabled:
        raise PipelineError(
            f"pipeline uses disabled plugin(s): {', '.join(disabled)}",
            plugin=str(pipeline_file),
            hint=f"run `wiseflow plugins enable {disabled[0]}`",
        )
    s.data_dir.mkdir(parents=True, exist_ok=True)
    _log_to_file(s.data_dir / "logs" / "wiseflow.log")
    signal.signal(signal.SIGTERM, _interrupt)
    return pipeline


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

    from .._redact import RedactingFilter

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


def _check_kinds(pipeline: Pipeline, kinds: dict[str, set[str]], path: Path) -> None:
    """Every stage's plugin is of its section's kind (WF501 naming the line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    section = {"connector": "sources", "processor": "processors", "analyzer": "analyzers"}
    problems: list[Problem] = []
    for spec in pipeline.stages:
        offered = kinds.get(spec.plugin)
        if offered and spec.kind not in offered:
            line = next((i for i, text in enumerate(lines, 1) if f'"{spec.plugin}"' in text), None)
            problems.append(
                Problem(
                    code="WF501",
                    message=f"[[{section[spec.kind]}]] plugin '{spec.plugin}' is a "
                    f"{'/'.join(sorted(offered))}, not a {spec.kind}",
                    hint=f"move it under [[{section[sorted(offered)[0]]}]]",
                    file=str(path),
                    line=line,
                    plugin=spec.plugin,
                )
            )
    if problems:
        raise PipelineError(
            "; ".join(p.message for p in problems),
            plugin=str(path),
            hint=problems[0].hint,
            problems=problems,
        )


def _check_report_path(report: Path | None) -> None:
    if report is not None and report.suffix.lower() not in (".html", ".htm", ".md", ".json"):
        raise PipelineError(
            f"cannot write a report as {report.name!r}",
            plugin=str(report),
            hint="use a .html, .md or .json file name",
        )


def start_stages(
    pm: PluginManager,
    pipeline: Pipeline,
    where: str,
    kinds: tuple[str, ...] = ("connector", "processor", "analyzer"),
) -> dict[str, list[PluginHandle]]:
    """Load every stage (of ``kinds``), check every config (all WF105s at once), then
    initialize."""
    loaded: list[tuple[Any, PluginHandle]] = []
    for spec in pipeline.stages:
        if spec.kind not in kinds:
            continue
        # relative paths in a stage's config are relative to the pipeline file's folder
        handle = pm.load(
            spec.plugin, instance=spec.name, config=spec.config, base_dir=Path(where).parent
        )
        loaded.append((spec, handle))
    problems: list[Problem] = []
    for spec, handle in loaded:
        try:
            handle.runner.check_config(dict(spec.config))
        except ConfigError as exc:
            problems.extend(
                p.__class__(
                    code=p.code,
                    message=f"{spec.kind} '{spec.name}': {p.message}",
                    hint=p.hint or "fix `config` of this stage in the pipeline file",
                    file=where,
                    plugin=spec.name,
                )
                for p in exc.as_problems()
            )
    if problems:
        raise ConfigError(
            "; ".join(p.message for p in problems),
            plugin=where,
            hint=problems[0].hint,
            problems=problems,
        )
    out: dict[str, list[PluginHandle]] = {"connector": [], "processor": [], "analyzer": []}
    for spec, _ in loaded:
        out[spec.kind].append(pm.start(spec.plugin, spec.config, instance=spec.name))
    return out


def _run(
    out: Output,
    pipeline: Pipeline,
    store: Store,
    handles: dict[str, list[PluginHandle]],
    full_refresh: bool,
    report: Path | None,
) -> RunSummary:
    from rich.live import Live

    from .._pipeline import run_pipeline

    kwargs: dict[str, Any] = {"full_refresh": full_refresh}
    if report is not None:
        kwargs["report"] = report
    interactive = not out.json and sys.stderr.isatty()
    if not interactive:
        return run_pipeline(
            pipeline, store, handles["connector"], handles["processor"], handles["analyzer"],
            **kwargs,
        )  # fmt: skip
    t0 = time.perf_counter()
    with Live(console=out.err, refresh_per_second=4, transient=True) as live:

        def progress(summary: RunSummary) -> None:
            live.update(_progress_table(summary, time.perf_counter() - t0))

        return run_pipeline(
            pipeline, store, handles["connector"], handles["processor"], handles["analyzer"],
            progress=progress, **kwargs,
        )  # fmt: skip


def _progress_table(summary: RunSummary, elapsed: float) -> Table:
    from rich.table import Table

    from .._text import terminal_safe

    name = terminal_safe(summary.pipeline, limit=200)
    table = Table(title=f"{name}: {summary.fetched:,} fetched in {elapsed:.1f}s")
    for col in ("stage", "in", "out", "records/s", "errors"):
        table.add_column(col)
    for name, st in summary.stages.items():
        done = st.records_out or st.records_in
        rate = f"{done / elapsed:,.0f}" if elapsed > 0 else "-"
        table.add_row(
            terminal_safe(name, limit=200), f"{st.records_in:,}", f"{st.records_out:,}", rate,
            str(st.errors),
        )  # fmt: skip
    return table


def _print_summary(out: Output, doc: dict[str, Any], pipeline_file: Path) -> None:
    from .._text import terminal_safe as safe

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
