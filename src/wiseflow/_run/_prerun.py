"""What a run checks before any plugin starts, and starting its stages.

Checks raise the errors ``wiseflow run`` shows: the pipeline file and the kinds of its
plugins (WF501), disabled plugins, the report's file type, every stage's config at once
(WF105); identity and approval (WF104, WF303) are the manager's, as each stage loads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._contract._errors import ConfigError, PipelineError, Problem
from .._contract._suggest import did_you_mean

if TYPE_CHECKING:
    from .._host._handle import PluginHandle
    from .._host._manager import PluginManager
    from .._pipeline import Pipeline, StageSpec

__all__ = ["check_pipeline", "start_stages"]

_SECTION = {"connector": "sources", "processor": "processors", "analyzer": "analyzers"}


def check_pipeline(
    pm: PluginManager,
    pipeline: str | os.PathLike[str] | Pipeline,
    *,
    report: str | os.PathLike[str] | None = None,
) -> Pipeline:
    """The pipeline, read (a path) and checked against what ``pm`` offers."""
    from .._pipeline import Pipeline, load_pipeline

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
    if isinstance(pipeline, Pipeline):
        _check_known(pipeline, known)
    else:
        pipeline = load_pipeline(Path(pipeline), known_plugins=known)
    _check_kinds(pipeline, kinds)
    target = os.fspath(report) if report is not None else pipeline.output.report
    _check_report_path(Path(target) if target else None)
    disabled = sorted(
        {st.plugin for st in pipeline.stages if not pm.config.plugin(st.plugin).enabled}
    )
    if disabled:
        raise PipelineError(
            f"pipeline uses disabled plugin(s): {', '.join(disabled)}",
            plugin=_where(pipeline),
            hint=f"run `wiseflow plugins enable {disabled[0]}`",
        )
    return pipeline


def _where(pipeline: Pipeline) -> str:
    return pipeline.path or "pipeline.toml"


def _lines(pipeline: Pipeline) -> list[str]:
    if pipeline.path is None:
        return []
    try:
        return Path(pipeline.path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _line_of(lines: list[str], spec: StageSpec) -> int | None:
    return next((i for i, text in enumerate(lines, 1) if f'"{spec.plugin}"' in text), None)


def _check_known(pipeline: Pipeline, known: set[str]) -> None:
    """A parsed pipeline names only plugins on offer (WF501, as a pipeline file would)."""
    lines = _lines(pipeline)
    problems = [
        Problem(
            code="WF501",
            message=f"[[{_SECTION[spec.kind]}]] plugin: no plugin named {spec.plugin!r} is "
            f"installed{did_you_mean(spec.plugin, known)}",
            hint="run `wiseflow plugins list`, or add its folder with --plugin-dir",
            file=_where(pipeline),
            line=_line_of(lines, spec),
            plugin=spec.plugin,
        )
        for spec in pipeline.stages
        if spec.plugin not in known
    ]
    _raise(pipeline, problems)


def _check_kinds(pipeline: Pipeline, kinds: dict[str, set[str]]) -> None:
    """Every stage's plugin is of its section's kind (WF501 naming the line)."""
    lines = _lines(pipeline)
    problems: list[Problem] = []
    for spec in pipeline.stages:
        offered = kinds.get(spec.plugin)
        if offered and spec.kind not in offered:
            problems.append(
                Problem(
                    code="WF501",
                    message=f"[[{_SECTION[spec.kind]}]] plugin '{spec.plugin}' is a "
                    f"{'/'.join(sorted(offered))}, not a {spec.kind}",
                    hint=f"move it under [[{_SECTION[sorted(offered)[0]]}]]",
                    file=_where(pipeline),
                    line=_line_of(lines, spec),
                    plugin=spec.plugin,
                )
            )
    _raise(pipeline, problems)


def _raise(pipeline: Pipeline, problems: list[Problem]) -> None:
    if problems:
        raise PipelineError(
            "; ".join(p.message for p in problems),
            plugin=_where(pipeline),
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
    pm: PluginManager, pipeline: Pipeline, kinds: tuple[str, ...]
) -> dict[str, list[PluginHandle]]:
    """Load every stage (of ``kinds``), check every config (all WF105s at once), then
    initialize; handles by kind, in pipeline order."""
    from .._pipeline._scale import instances_of

    where = _where(pipeline)
    loaded: list[tuple[Any, PluginHandle]] = []
    for spec in pipeline.stages:
        if spec.kind not in kinds:
            continue
        for instance in instances_of(spec):  # `replicas = N`: N instances (SPEC §15)
            # relative paths in a stage's config are relative to the pipeline file's folder
            handle = pm.load(
                spec.plugin, instance=instance, config=spec.config, base_dir=Path(where).parent
            )
            loaded.append((spec, handle))
    problems: list[Problem] = []
    checked: set[str] = set()
    for spec, handle in loaded:
        if spec.name in checked:
            continue  # replicas share their stage's config: its problems are listed once
        checked.add(spec.name)
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
    for spec, handle in loaded:
        out[spec.kind].append(pm.start(spec.plugin, spec.config, instance=handle.name))
    return out
