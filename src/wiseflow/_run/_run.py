"""Running a pipeline from Python: :func:`run_pipeline` and the :class:`RunResult` it returns.

The one code path for ``wiseflow run``, ``wiseflow dead-letters replay``, the tests, the
benchmarks and embedders: every check first (nothing starts while one fails), then the
stages, the store and the metrics file ``wiseflow top`` reads; the run; and whatever the
run started is stopped again, also when it fails or is interrupted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

from .._contract._errors import ConfigError, InvalidTransition, PluginError, RuntimeFailure
from .._policy._operator import OperatorConfig, load_operator_config
from ._opening import Opening, close_later
from ._prerun import check_pipeline
from ._result import RunResult
from ._views import run_collector

if TYPE_CHECKING:
    from .._host._handle import PluginHandle
    from .._host._manager import PluginManager
    from .._host._metering import Collector
    from .._pipeline import Pipeline, RunSummary, StageHandle
    from .._store import Store
    from ._watch import Watch

__all__ = [
    "RunResult",
    "Stages",
    "open_manager",
    "resolve_data_dir",
    "run_pipeline",
    "stages",
    "warm_sandbox",
]

#: ``progress`` callbacks get the run so far (its counts grow while it runs).
Progress = Callable[["RunResult"], None]
KINDS = ("connector", "processor", "analyzer")


def run_pipeline(
    pipeline: str | os.PathLike[str] | Pipeline,
    *,
    config: str | os.PathLike[str] | OperatorConfig | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    report: str | os.PathLike[str] | None = None,
    full_refresh: bool = False,
    manager: PluginManager | None = None,
    watch: Watch | None = None,
) -> RunResult:
    """Run a pipeline as ``wiseflow run`` does, and return what it did.

    Every check comes first and raises before any plugin starts: the pipeline file and
    its plugins' kinds (WF501), disabled plugins, the report's file type, each stage's
    config (every WF105 at once), each plugin's identity and approval (WF104, WF303).
    Plugins started for the run are stopped when it ends, whatever happens: no worker
    process is left behind. Logging and signal handlers are the caller's.

    Args:
        pipeline: a pipeline file, or one parsed with ``parse_pipeline``.
        config: ``wiseflow.toml`` (a path or a parsed :class:`OperatorConfig`); default:
            ``./wiseflow.toml`` when present, as the CLI.
        data_dir: where the store, plugin data and logs live; default: the config's
            ``data_dir`` (``.wiseflow`` beside it).
        progress: called after every batch with the run so far; an exception it raises
            ends the run (``KeyboardInterrupt``: recorded as ``"interrupted"``).
        report: write the report here (``.html``, ``.md``, ``.json``); default: the
            pipeline's ``[output] report``; ``""``: none.
        full_refresh: ignore stored checkpoints (sources fetch everything again).
        manager: run with this manager's plugins, config and data dir instead (then
            ``config`` and ``data_dir`` must be None); it stays open, the instances this
            run started are shut down.
        watch: keep running and reload changed plugins (``wiseflow run --watch``); see
            :class:`wiseflow.Watch`. Set its ``stop`` to end the run (``"ok"``).

    Returns:
        The :class:`RunResult`; a run with failures returns too (``status``, ``ok``).

    Raises:
        WiseflowError: a check failed (the codes the CLI shows for it); nothing ran.
        KeyboardInterrupt: the run was interrupted; it is recorded as ``"interrupted"``.

    Example:
        >>> result = wiseflow.run_pipeline("news.toml", data_dir="/var/lib/wiseflow")
        >>> result.status, result.stored
        ('ok', 1250)

    .. versionadded:: 0.1.0
    """
    from .._pipeline import Pipeline

    if not isinstance(pipeline, str | os.PathLike | Pipeline):
        raise TypeError(
            f"run_pipeline: pipeline must be a path or a parsed Pipeline, "
            f"not {type(pipeline).__name__}"
        )
    if manager is not None:
        if config is not None or data_dir is not None:
            raise ConfigError(
                "run_pipeline: give either a manager or config/data_dir, not both",
                hint="the manager already has its config and data dir",
            )
        with stages(manager, pipeline, report=report) as run:
            return run.execute(progress=progress, full_refresh=full_refresh, watch=watch)
    with open_manager(config, data_dir) as pm, stages(pm, pipeline, report=report) as run:
        return run.execute(progress=progress, full_refresh=full_refresh, watch=watch)


def resolve_data_dir(config: OperatorConfig, data_dir: str | os.PathLike[str] | None) -> Path:
    """The data dir a host of ``config`` uses (``data_dir`` wins); WF105 if not a folder."""
    path = Path(data_dir).resolve() if data_dir else config.resolve_path(config.wiseflow.data_dir)
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"the data dir {path} exists and is not a directory",
            plugin=str(path),
            hint="point --data-dir (or data_dir in wiseflow.toml) at a directory",
        )
    return path


def open_manager(
    config: str | os.PathLike[str] | OperatorConfig | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    plugin_dirs: Sequence[str | Path] = (),
) -> PluginManager:
    """The manager the CLI builds: ``config`` with the operator's ``plugins enable`` and
    ``disable`` state applied, the data dir resolved, the discovery cache kept there."""
    from .._host._manager import PluginManager
    from .._policy._opstate import apply_state, load_state

    if isinstance(config, OperatorConfig):
        base = config
    else:
        base = load_operator_config(None if config is None else Path(config))
    path = resolve_data_dir(base, data_dir)
    # The implicit `./.wiseflow` is created only by a command that writes: a read-only
    # command run from another folder leaves nothing behind.
    chosen = bool(data_dir) or base.path is not None
    return PluginManager(
        apply_state(base, load_state(path)),
        plugin_dirs=plugin_dirs,
        data_dir=path,
        cache=chosen or path.is_dir(),
    )


@contextmanager
def stages(
    manager: PluginManager,
    pipeline: str | os.PathLike[str] | Pipeline,
    *,
    report: str | os.PathLike[str] | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> Iterator[Stages]:
    """Check ``pipeline`` and start its stages (of ``kinds``); stop them on the way out.

    Nothing starts while a check fails. The CLI sets up its log file and signals inside
    the block, before :meth:`Stages.execute` starts the plugins.
    """
    from .._ray._executor import connect_for, executor_for

    checked = check_pipeline(manager, pipeline, report=report)
    # executor = "ray": an unreachable cluster fails before anything starts, and the
    # workers start on the cluster's nodes (no local zygote to warm)
    if not connect_for(checked) and any(
        manager.level_for(st.plugin) != "trusted" for st in checked.stages if st.kind in kinds
    ):
        warm_sandbox()
    run = Stages(manager, checked, report=report, kinds=kinds)
    # "ray": every sandboxed instance built during the run (stages, dependencies,
    # fallbacks, a `--watch` reload) runs on the cluster
    with executor_for(checked, manager):
        try:
            yield run
        finally:
            run.stop()


def warm_sandbox() -> None:
    """Start this host's zygote now, in the background: its interpreter boots (~0.1 s)
    while the host audits and loads the plugins, instead of when the first worker is
    needed. The first worker waits for it as before (its lock); nothing of a plugin is in
    it, and it is stopped at exit as always."""
    from .._sandbox._process import spawn
    from .._sandbox._zygote import warm_shared_zygote

    warm_shared_zygote(spawn)


@final
class Stages:
    """A checked pipeline, its started stages, and the manager they run on."""

    def __init__(
        self,
        manager: PluginManager,
        pipeline: Pipeline,
        *,
        report: str | os.PathLike[str] | None,
        kinds: tuple[str, ...],
    ) -> None:
        self.manager = manager
        self.pipeline = pipeline
        self.report = report
        self.kinds = kinds
        self.handles: dict[str, list[PluginHandle]] = {k: [] for k in KINDS}
        self._before = {h.name for h in manager.handles()}
        self._started = False
        self._closing: list[threading.Thread] = []  # stores closing (see _opening)
        #: the run's live figures for `top`, the dashboard and Prometheus (see _views.py)
        self.collector = run_collector(manager, pipeline)

    def start(self) -> dict[str, list[PluginHandle]]:
        """Load every stage, check every config (all WF105s at once), then initialize."""
        from ._prerun import start_stages

        if not self._started:
            self._started = True
            self.manager.data_dir.mkdir(parents=True, exist_ok=True)
            self.handles = start_stages(self.manager, self.pipeline, self.kinds)
        return self.handles

    def execute(
        self,
        *,
        progress: Progress | None = None,
        full_refresh: bool = False,
        watch: Watch | None = None,
    ) -> RunResult:
        """Start (if not yet), open the store and the metrics file, run; the result."""
        from contextlib import nullcontext
        from functools import partial
        from time import perf_counter

        from .._pipeline import run_pipeline as engine

        t0 = perf_counter()  # the run's wall time (its `seconds`) counts starting the plugins
        opening = self._opening()  # the store opens while the stages start
        try:
            try:
                handles: dict[str, list[Any]] = dict(self.start())
            except (PluginError, RuntimeFailure) as exc:
                if isinstance(exc, InvalidTransition):
                    raise  # the host's own state machine, not a stage
                return self._could_not_start(exc, perf_counter() - t0, opening)
            run_stages = partial(engine, t0=t0)
            watching: Any = nullcontext()
            if watch is not None:  # --watch: live stages, polled sources, reloads between batches
                from ._watch import Reloader

                watching = Reloader(self.manager, self.handles, watch)
                handles = dict(watching.stages)
                run_stages = partial(engine, t0=t0, between=watching.between)
        except BaseException:
            opening.discard()  # closed, unless the run took it already
            raise
        with self._store(opening) as store, watching:
            summary = run_stages(
                self.pipeline, store, handles["connector"],
                self._processors(handles["processor"]), handles["analyzer"],
                full_refresh=full_refresh, report=self._report(),
                progress=_view(progress, self.collector),
            )  # fmt: skip
            if self.collector.keep(summary):  # resource history, kept with the run
                store.finish_run(summary.run_id, summary.status, summary.to_dict())
        return self._result(summary)

    def replay(
        self,
        *,
        run_id: int | None = None,
        plugin: str | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        """Send the dead letters of this pipeline's sources (of ``run_id``, of ``plugin``)
        through its processors and analyzers again (``wiseflow dead-letters replay``)."""
        from .._pipeline._replay import replay_dead_letters, require_run, require_stage
        from .._store import DB_NAME

        if run_id is not None:  # before anything starts or is recorded
            require_run(self.manager.data_dir / DB_NAME, run_id)
        if plugin is not None:
            require_stage(self.pipeline, plugin)
        handles = self.start()
        sources = {st.name for st in self.pipeline.stages if st.kind == "connector"}
        with self._store() as store:
            letters = [
                d for d in store.dead_letters(run_id)
                if d["source"] in sources and (plugin is None or d["plugin"] == plugin)
            ]  # fmt: skip
            summary = replay_dead_letters(
                self.pipeline, store, self._processors(), handles["analyzer"], letters,
                report=self._report(), progress=_view(progress, self.collector),
            )  # fmt: skip
        return self._result(summary)

    def _processors(self, handles: Sequence[Any] | None = None) -> list[StageHandle]:
        """The processor stages (of ``handles``: default, the started ones; ``--watch``
        passes its live ones); a stage with ``replicas`` is one :class:`Replicas`."""
        from .._pipeline._scale import group_replicas

        started = self.handles["processor"] if handles is None else handles
        return group_replicas(self.pipeline.processors, started)

    def stop(self) -> None:
        """Shut down every instance this run started (stages, their dependencies and
        fallbacks), dependents first; instances that were there before stay."""
        try:
            self.manager.close(
                [h.name for h in self.manager.handles() if h.name not in self._before]
            )
            self.collector.close()
        finally:
            while self._closing:  # the store closed meanwhile (see _opening)
                self._closing.pop().join()

    def _opening(self) -> Opening:
        from .._store import DB_NAME

        sandboxed = any(
            self.manager.level_for(st.plugin) != "trusted" for st in self.pipeline.stages
        )
        return Opening(self.manager.data_dir / DB_NAME, preload_psutil=sandboxed)

    @contextmanager
    def _store(self, opening: Opening | None = None) -> Iterator[Store]:
        """The run's store (``opening``'s, or opened now) with the metrics file written
        meanwhile; closed on a thread that :meth:`stop` joins."""
        from .._host._metering import MetricsWriter

        pm = self.manager
        store = (opening or self._opening()).take()
        try:
            # `wiseflow top` and the dashboard read what this host writes here every second
            # (removed at exit)
            with MetricsWriter(self.collector, pm.data_dir / "metrics"):
                store.redactor = pm.redactor  # what the brokers handed out is masked in it
                yield store
        finally:
            close_later(store, self._closing)

    def _could_not_start(
        self, exc: PluginError | RuntimeFailure, seconds: float, opening: Opening
    ) -> RunResult:
        """A stage's ``initialize`` failed (it raised, hung, crashed, broke a quota): the run
        is recorded as ``"failed"`` with that error (SPEC §12), and nothing else runs."""
        from datetime import UTC, datetime

        from .._pipeline import RunSummary
        from .._pipeline._summary import error_entry

        with self._store(opening) as store:
            summary = RunSummary(
                run_id=store.begin_run(self.pipeline.name),
                pipeline=self.pipeline.name,
                status="failed",
                started=datetime.now(UTC).isoformat(timespec="seconds"),
                seconds=seconds,
            )
            summary.errors.append(error_entry(exc, exc.plugin or "?"))
            summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
            store.finish_run(summary.run_id, summary.status, summary.to_dict())
        return self._result(summary)

    def _report(self) -> str | Path | None:
        return None if self.report is None else os.fspath(self.report)

    def _result(self, summary: RunSummary) -> RunResult:
        in_error = [h.name for h in self.manager.handles() if h.state.value == "ERROR"]
        return RunResult(summary, in_error)


def _view(progress: Progress | None, collector: Collector) -> Callable[[RunSummary], None]:
    """The engine's per-batch callback: the collector keeps the summary; ``progress`` gets a
    live :class:`RunResult`."""
    view: RunResult | None = None

    def call(summary: RunSummary) -> None:
        nonlocal view
        collector.observe(summary)
        if progress is None:
            return
        if view is None:
            view = RunResult(summary)
        progress(view)

    return call
