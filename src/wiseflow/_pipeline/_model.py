"""The pipeline file (SPEC §5): parsed into frozen structs, every problem reported at once."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any, final

import msgspec

from .._contract._errors import PipelineError, Problem
from .._contract._suggest import did_you_mean, unknown_value
from .._contract._toml import TomlProblem, loads, read_limited
from ._scale import check_executor, check_replicas

__all__ = ["OutputSpec", "Pipeline", "StageSpec", "load_pipeline", "parse_pipeline"]

#: An instance name: also a folder name (its data dir, ``dep@instance``), so at most 64 characters.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_STAGE_KEYS = ("plugin", "name", "config", "replicas")
_PIPELINE_KEYS = (
    "name", "batch_size", "description", "queue_batches", "analyze", "executor", "ray_address"
)  # fmt: skip
_OUTPUT_KEYS = ("report",)
_SECTIONS = ("pipeline", "sources", "processors", "analyzers", "output")


@final
class StageSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One ``[[sources]]``, ``[[processors]]`` or ``[[analyzers]]`` entry.

    ``replicas``: instances of a processor run side by side (1..64; SPEC §15).
    """

    plugin: str
    name: str  # instance name; defaults to the plugin name
    kind: str  # connector | processor | analyzer
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    replicas: int = 1


@final
class OutputSpec(msgspec.Struct, frozen=True, kw_only=True):
    """``[output]``: where the report goes (``.html``, ``.md`` or ``.json``)."""

    report: str | None = None


@final
class Pipeline(msgspec.Struct, frozen=True, kw_only=True):
    """A validated pipeline file.

    Attributes:
        batch_size: records per batch handed to processors and analyzers.
        queue_batches: batches each source may run ahead of the consumer (backpressure).
        analyze: ``"stream"`` (default): analyzers see this run's records as they flow;
            ``"stored"``: after ingestion they see every stored record of the pipeline's
            sources, so an incremental run still reports on the whole history.
        path: the file it was read from, if any; relative report paths resolve against
            the current directory, as the operator typed them.
        executor: where plugin instances run (SPEC §15): ``"local"``; ``"ray"`` is
            parsed (with ``ray_address``) but refused by the run's checks in this version.
    """

    name: str
    batch_size: int = 500
    description: str = ""
    queue_batches: int = 4
    analyze: str = "stream"
    sources: tuple[StageSpec, ...] = ()
    processors: tuple[StageSpec, ...] = ()
    analyzers: tuple[StageSpec, ...] = ()
    output: OutputSpec = OutputSpec()
    path: str | None = None
    executor: str = "local"
    ray_address: str | None = None

    @property
    def stages(self) -> tuple[StageSpec, ...]:
        return self.sources + self.processors + self.analyzers


def load_pipeline(path: str | Path, *, known_plugins: Collection[str] | None = None) -> Pipeline:
    """Read and validate a pipeline file.

    Args:
        path: the ``.toml`` file.
        known_plugins: plugin names that exist; when given, other names are problems.

    Raises:
        PipelineError: WF501 with every problem (field and line) in ``.problems``.
    """
    p = Path(path)
    try:
        text = read_limited(p).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(
            f"cannot read pipeline file {p}: {exc}",
            plugin=str(p),
            hint="check the path of the pipeline file",
        ) from None
    return parse_pipeline(text, path=str(p), known_plugins=known_plugins)


def parse_pipeline(
    text: str, *, path: str | None = None, known_plugins: Collection[str] | None = None
) -> Pipeline:
    """Validate pipeline TOML ``text`` (see :func:`load_pipeline`)."""
    where = path or "pipeline.toml"
    try:
        doc = loads(text)
    except TomlProblem as exc:
        raise PipelineError(
            f"{where}: {exc.message}",
            plugin=where,
            problems=[Problem(code="WF501", message=exc.message, file=where, line=exc.line)],
        ) from None
    v = _Validator(text, where, known_plugins)
    pipeline = v.run(doc)
    if v.problems or pipeline is None:
        summary = "; ".join(p.message for p in v.problems)
        raise PipelineError(
            f"{where}: {len(v.problems)} problem(s): {summary}", plugin=where, problems=v.problems
        )
    return msgspec.structs.replace(pipeline, path=path)


class _Validator:
    def __init__(self, text: str, where: str, known: Collection[str] | None) -> None:
        self.lines = text.splitlines()
        self.where = where
        self.known = set(known) if known is not None else None
        self.problems: list[Problem] = []

    def bad(self, field: str, message: str, hint: str | None = None, nth: int = 0) -> None:
        self.problems.append(
            Problem(
                code="WF501",
                message=f"{field}: {message}",
                hint=hint
                or "pipeline files hold [pipeline], [[sources]], [[processors]], "
                "[[analyzers]] and [output]",
                file=self.where,
                line=self._line_of(field, nth),
            )
        )

    def _line_of(self, field: str, nth: int) -> int | None:
        parts = field.replace("]", "").split("[")
        section = parts[0].split(".")[0]
        key = field.rsplit(".", 1)[-1] if "." in field else None
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(section)}\s*\]\]?")
        start, seen = 0, -1
        for i, line in enumerate(self.lines):
            if header.match(line):
                seen += 1
                if seen == nth:
                    start = i
                    break
        if key is None:
            return start + 1
        pattern = re.compile(rf"(^|[\s{{,])\"?{re.escape(key)}\"?\s*=")
        for i in range(start, len(self.lines)):
            if i > start and self.lines[i].lstrip().startswith("["):
                break
            if pattern.search(self.lines[i]):
                return i + 1
        return start + 1

    def run(self, doc: dict[str, Any]) -> Pipeline | None:
        for key in doc:
            if key not in _SECTIONS:
                self.bad(
                    key,
                    f"unknown section{did_you_mean(key, _SECTIONS)}",
                    f"known sections: {', '.join(_SECTIONS)}",
                )
        head = doc.get("pipeline")
        if not isinstance(head, dict):
            self.bad(
                "pipeline", "missing [pipeline] table with a name", "add [pipeline] name = ..."
            )
            head = {}
        for key in head:
            if key not in _PIPELINE_KEYS:
                self.bad(
                    f"pipeline.{key}",
                    f"unknown field{did_you_mean(key, _PIPELINE_KEYS)}",
                    f"known: {', '.join(_PIPELINE_KEYS)}",
                )
        name = head.get("name")
        if not isinstance(name, str) or not name.strip():
            if "pipeline" in doc:
                self.bad("pipeline.name", "required: a non-empty string")
            name = ""
        batch_size = self._positive(head, "batch_size", 500)
        queue_batches = self._positive(head, "queue_batches", 4)
        analyze = head.get("analyze", "stream")
        if analyze not in ("stream", "stored"):
            self.bad("pipeline.analyze", unknown_value(analyze, ("stream", "stored")))
            analyze = "stream"
        description = head.get("description", "")
        if not isinstance(description, str):
            self.bad("pipeline.description", "must be a string")
            description = ""
        executor, ray_address = check_executor(head, self.bad)
        sources = self._stages(doc, "sources", "connector")
        processors = self._stages(doc, "processors", "processor")
        analyzers = self._stages(doc, "analyzers", "analyzer")
        if not sources and "sources" not in doc:
            self.bad("sources", "a pipeline needs at least one [[sources]] entry")
        seen: set[str] = set()
        for stage in sources + processors + analyzers:
            if stage.name in seen:
                self.bad(
                    stage.kind,
                    f"instance name {stage.name!r} is used twice",
                    "give one of them a distinct `name = ...`",
                )
            seen.add(stage.name)
        output = OutputSpec()
        out = doc.get("output", {})
        if not isinstance(out, dict):
            self.bad("output", "must be a table")
        else:
            for key in out:
                if key not in _OUTPUT_KEYS:
                    self.bad(
                        f"output.{key}",
                        f"unknown field{did_you_mean(key, _OUTPUT_KEYS)}",
                        "known: report",
                    )
            report = out.get("report")
            if report is not None and (
                not isinstance(report, str) or Path(report).suffix not in (".html", ".md", ".json")
            ):
                self.bad("output.report", f"{report!r} must be a path ending .html, .md or .json")
            elif report is not None:
                output = OutputSpec(report=report)
        if self.problems:
            return None
        return Pipeline(
            name=name,
            batch_size=batch_size,
            description=description,
            queue_batches=queue_batches,
            analyze=analyze,
            sources=tuple(sources),
            processors=tuple(processors),
            analyzers=tuple(analyzers),
            output=output,
            executor=executor,
            ray_address=ray_address,
        )

    def _positive(self, table: dict[str, Any], key: str, default: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.bad(f"pipeline.{key}", f"must be a positive integer, got {value!r}")
            return default
        return value

    def _stages(self, doc: dict[str, Any], section: str, kind: str) -> list[StageSpec]:
        raw = doc.get(section, [])
        if not isinstance(raw, list):
            self.bad(section, f"must be an array of tables: write [[{section}]]")
            return []
        out = []
        for i, entry in enumerate(raw):
            field = f"{section}[{i}]"
            if not isinstance(entry, dict):
                self.bad(field, "must be a table", nth=i)
                continue
            for key in entry:
                if key not in _STAGE_KEYS:
                    self.bad(
                        f"{field}.{key}",
                        f"unknown field{did_you_mean(key, _STAGE_KEYS)}",
                        "known: plugin, name, config, replicas",
                        i,
                    )
            plugin = entry.get("plugin")
            if not isinstance(plugin, str) or not plugin:
                self.bad(f"{field}.plugin", "required: the plugin's name", nth=i)
                continue
            if self.known is not None and plugin not in self.known:
                self.bad(
                    f"{field}.plugin",
                    f"no plugin named {plugin!r} is installed{did_you_mean(plugin, self.known)}",
                    "run `wiseflow plugins list`, or add its folder with --plugin-dir",
                    i,
                )
            name = entry.get("name", plugin)
            if not isinstance(name, str) or not _NAME_RE.match(name):
                self.bad(
                    f"{field}.name",
                    f"{str(name)[:80]!r} is not a valid instance name (letters, digits, `_.-`, "
                    "at most 64 characters)",
                    nth=i,
                )
                name = plugin
            config = entry.get("config", {})
            if not isinstance(config, dict):
                self.bad(
                    f"{field}.config", 'must be a table, e.g. config = { root = "..." }', nth=i
                )
                config = {}
            replicas = check_replicas(entry, kind, self.bad, f"{field}.replicas", i)
            out.append(
                StageSpec(plugin=plugin, name=name, kind=kind, config=config, replicas=replicas)
            )
        return out
