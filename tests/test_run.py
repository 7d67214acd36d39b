"""``wiseflow.run_pipeline``: the one way to run a pipeline, for the CLI and embedders."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

import wiseflow
from wf_cli import wf
from wiseflow import (
    ConfigError,
    PipelineError,
    RunResult,
    SandboxUnavailable,
    parse_pipeline,
    run_pipeline,
)
from wiseflow._host._manager import PluginManager
from wiseflow._policy._operator import load_operator_config
from wiseflow._store import DB_NAME, Store

SOURCE = """\
from wiseflow import ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(12):
            yield Record(id=f"r{i}", source="demo", title=f"item {i}")
"""
UPPER = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(title=r.title.upper()) for r in batch]
"""
CONFIGURED = """\
import msgspec
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    class Config(msgspec.Struct):
        suffix: str

    def process(self, batch):
        return batch
"""
PIPELINE = """\
[pipeline]
name = "demo"
batch_size = 4

[[sources]]
plugin = "src"

[[processors]]
plugin = "caps"
"""


def _project(root: Path, *, level: str = "trusted", extra: str = "") -> Path:
    """ROOT/wiseflow.toml, ROOT/plugins/{src,caps,needs-suffix}, ROOT/p.toml."""
    (root / "wiseflow.toml").write_text(
        f'[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "{level}"\n{extra}'
    )
    for name, kind, code in (
        ("src", "connector", SOURCE),
        ("caps", "processor", UPPER),
        ("needs-suffix", "processor", CONFIGURED),
    ):
        folder = root / "plugins" / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "{kind}"\nentry = "plugin:P"\n'
        )
        (folder / "plugin.py").write_text(code)
    (root / "p.toml").write_text(PIPELINE)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _project(tmp_path)


def _run(project: Path, pipeline: Any = None, **kw: Any) -> RunResult:
    return run_pipeline(
        project / "p.toml" if pipeline is None else pipeline,
        config=project / "wiseflow.toml",
        data_dir=project / "data",
        **kw,
    )


def test_a_pipeline_file_runs_and_its_records_are_stored(project: Path) -> None:
    """A path runs as `wiseflow run` would: records processed, stored, the run recorded."""
    result = _run(project)
    assert (result.status, result.ok, result.fetched, result.stored) == ("ok", True, 12, 12)
    assert result.to_dict()["records"]["stored"] == 12
    assert result.stages["caps"]["in"] == 12
    with Store.open(project / "data" / DB_NAME) as store:
        assert {r.title for r in store.records()} == {f"ITEM {i}" for i in range(12)}
        assert store.run(result.run_id)["status"] == "ok"  # type: ignore[index]


def test_a_parsed_pipeline_runs_the_same(project: Path) -> None:
    """A pipeline parsed in memory (no file) runs like the file it came from."""
    result = _run(project, parse_pipeline(PIPELINE))
    assert (result.status, result.stored) == ("ok", 12)
    assert list(result.stages) == ["src", "caps"]


def test_a_parsed_config_and_the_default_data_dir(project: Path) -> None:
    """A parsed OperatorConfig works as its file; the data dir defaults to the config's."""
    config = load_operator_config(project / "wiseflow.toml")
    result = run_pipeline(project / "p.toml", config=config)
    assert result.stored == 12
    assert (project / ".wiseflow" / DB_NAME).is_file()  # beside wiseflow.toml, as the CLI


def test_progress_is_called_with_the_run_so_far(project: Path) -> None:
    """The callback sees the counts grow, batch by batch, up to the final figures."""
    seen: list[tuple[int, str]] = []
    result = _run(project, progress=lambda r: seen.append((r.fetched, r.status)))
    fetched = [f for f, _ in seen]
    assert len(seen) >= 3 and fetched == sorted(fetched) and fetched[-1] == 12
    assert result.fetched == 12


def test_a_second_run_resumes_and_full_refresh_starts_again(project: Path) -> None:
    """Checkpoints carry over between runs; full_refresh fetches everything again."""
    _run(project)
    again = _run(project, full_refresh=True)
    assert (again.fetched, again.stored, again.duplicates) == (12, 0, 12)


def test_a_report_is_written_where_asked(project: Path, tmp_path: Path) -> None:
    """``report=`` as `wiseflow run --report`."""
    result = _run(project, report=tmp_path / "r.json")
    assert result.report is not None and Path(result.report).is_file()


def test_wrong_kind_is_wf501_and_nothing_runs(project: Path) -> None:
    """A processor listed as a source: WF501 naming it, before any plugin starts."""
    text = PIPELINE.replace('plugin = "src"', 'plugin = "needs-suffix"')
    (project / "p.toml").write_text(text)
    with pytest.raises(PipelineError) as info:
        _run(project)
    assert info.value.code == "WF501"
    assert "'needs-suffix' is a processor" in info.value.message
    assert info.value.problems[0].line == 6
    assert not (project / "data" / DB_NAME).exists()


def test_unknown_plugin_in_a_parsed_pipeline_is_wf501(project: Path) -> None:
    """A parsed pipeline naming no installed plugin fails as the file would (WF501)."""
    text = PIPELINE.replace('plugin = "caps"', 'plugin = "cap"')
    with pytest.raises(PipelineError) as info:
        _run(project, parse_pipeline(text))
    assert info.value.code == "WF501"
    assert "did you mean 'caps'" in info.value.message


def test_disabled_plugin_and_bad_report_name_are_refused(project: Path) -> None:
    """A disabled plugin and a report that is not .html/.md/.json stop the run first."""
    with pytest.raises(PipelineError, match="cannot write a report"):
        _run(project, report="out.pdf")
    (project / "wiseflow.toml").write_text(
        (project / "wiseflow.toml").read_text() + "[plugins.caps]\nenabled = false\n"
    )
    with pytest.raises(PipelineError, match="disabled plugin") as info:
        _run(project)
    assert info.value.hint == "run `wiseflow plugins enable caps`"


def test_every_stage_config_problem_at_once(project: Path) -> None:
    """Two stages with a bad config: one WF105 holding both problems, nothing started."""
    (project / "p.toml").write_text(
        PIPELINE
        + '[[processors]]\nplugin = "needs-suffix"\nname = "one"\n'
        + '[[processors]]\nplugin = "needs-suffix"\nname = "two"\nconfig = { suffix = 3 }\n'
    )
    with pytest.raises(ConfigError) as info:
        _run(project)
    assert info.value.code == "WF105"
    assert [p.plugin for p in info.value.problems] == ["one", "two"]


def test_a_pipeline_that_is_neither_a_path_nor_parsed_is_a_type_error() -> None:
    """Nothing starts; the message says what run_pipeline takes."""
    with pytest.raises(TypeError, match="must be a path or a parsed Pipeline, not int"):
        wiseflow.run_pipeline(42)  # type: ignore[arg-type]


def test_a_manager_and_a_config_together_are_refused(project: Path) -> None:
    """`manager=` brings its own config and data dir: giving both is a mistake, said so."""
    with PluginManager(entry_points=False, cache=False) as pm, pytest.raises(ConfigError):
        run_pipeline(project / "p.toml", manager=pm, config=project / "wiseflow.toml")


def test_a_given_manager_stays_open_and_keeps_what_it_had(project: Path) -> None:
    """With `manager=`, what the run started is shut down; what was running stays."""
    config = load_operator_config(project / "wiseflow.toml")
    with PluginManager(config, data_dir=project / "data", cache=False) as pm:
        mine = pm.start("needs-suffix", {"suffix": "!"})
        result = run_pipeline(project / "p.toml", manager=pm)
        assert result.ok
        states = {h.name: h.state.value for h in pm.handles()}
    assert states == {"needs-suffix": "ACTIVE", "src": "UNLOADED", "caps": "UNLOADED"}
    assert mine.state.value == "UNLOADED"  # closed with its manager


def _children() -> set[int]:
    """Processes whose parent is this one (workers are: the zygote forks them as ours)."""
    return {p.pid for p in psutil.Process().children()}


def test_an_interrupted_run_is_recorded_and_leaves_no_worker(tmp_path: Path) -> None:
    """Ctrl-C in the middle (here: from the progress callback) records `interrupted`,
    stops every worker the run started, and reaches the caller as KeyboardInterrupt."""
    project = _project(tmp_path, level="sandboxed")
    config = load_operator_config(project / "wiseflow.toml")
    workers: set[int] = set()
    with PluginManager(config, data_dir=project / "data", cache=False) as pm:

        def interrupt(result: RunResult) -> None:
            workers.update(p for h in pm.handles() if (p := h.runner.pid()) is not None)
            raise KeyboardInterrupt

        try:
            with pytest.raises(KeyboardInterrupt):
                run_pipeline(project / "p.toml", manager=pm, progress=interrupt)
        except SandboxUnavailable as exc:  # pragma: no cover - depends on the kernel
            pytest.skip(f"sandbox unavailable here: {exc}")
        assert workers, "the stages ran in workers"
        assert not workers & _children(), "a worker outlived the run"
        assert {h.state.value for h in pm.handles()} == {"UNLOADED"}
    with Store.open(project / "data" / DB_NAME) as store:
        assert [r["status"] for r in store.runs()] == ["interrupted"]


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A run document without what differs between two runs of the same thing."""
    doc = {k: v for k, v in doc.items() if k not in ("run_id", "started", "finished")}
    doc.pop("seconds")
    doc.pop("records_per_s")
    doc["stages"] = {
        name: {k: v for k, v in st.items() if k not in ("seconds", "records_per_s")}
        for name, st in doc["stages"].items()
    }
    doc["plugins"] = {
        name: {k: v for k, v in p.items() if k != "resources"} for name, p in doc["plugins"].items()
    }
    return doc


def test_the_cli_and_the_api_give_the_same_document(project: Path) -> None:
    """`wiseflow run --json` prints what run_pipeline(...).to_dict() returns."""
    cli = wf("run", "p.toml", "--json", "--data-dir", "cli-data", cwd=project)
    assert cli.returncode == 0, cli.stderr
    api = run_pipeline(project / "p.toml", config=project / "wiseflow.toml",
                       data_dir=project / "api-data")  # fmt: skip
    assert _comparable(json.loads(cli.stdout)) == _comparable(api.to_dict())


def test_the_callers_process_is_left_as_it_was(project: Path) -> None:
    """No signal handler installed, no log handler added: the embedder's process is its own
    (SIGTERM and the run log file are `wiseflow run`'s)."""
    term = signal.getsignal(signal.SIGTERM)
    handlers = list(logging.getLogger("wiseflow").handlers)
    assert _run(project).ok
    assert signal.getsignal(signal.SIGTERM) is term
    assert logging.getLogger("wiseflow").handlers == handlers
    assert not (project / "data" / "logs" / "wiseflow.log").exists()


def test_run_pipeline_is_exported_lazily() -> None:
    """`wiseflow.run_pipeline` and `RunResult` are the host's: not in `__all__`, loaded on
    first use."""
    assert wiseflow.run_pipeline is run_pipeline
    assert RunResult.__module__ == "wiseflow"
    assert "run_pipeline" not in wiseflow.__all__
    assert "RunResult" in wiseflow.HOST_API


@pytest.mark.parametrize("text", ["[pipeline\n", "[pipeline]\n"])
def test_a_pipeline_that_does_not_parse_is_wf501(project: Path, text: str) -> None:
    """A broken pipeline file is WF501, as `wiseflow run` shows it."""
    (project / "p.toml").write_text(text)
    with pytest.raises(PipelineError) as info:
        _run(project)
    assert info.value.code == "WF501"


def test_a_sandboxed_run_warms_the_zygote_and_survives_a_failed_warm_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the checks pass, a run with sandboxed stages starts the zygote in the
    background; a warm-up that fails is only logged (the first worker starts it, or
    starts cold), and a trusted run does not warm at all."""
    import threading

    from wiseflow._sandbox import _process, _zygote

    assert vars(_process)["shared_zygote"] is _zygote.shared_zygote  # the runner's, bound
    warmed = threading.Event()

    def failing(spawn: Any) -> None:
        warmed.set()
        raise RuntimeError("the warm-up failed")

    monkeypatch.setattr(_zygote, "shared_zygote", failing)  # the warm-up's, not the runner's
    hooked: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: hooked.append(args.exc_value))
    (tmp_path / "t").mkdir()
    (tmp_path / "s").mkdir()
    trusted = _project(tmp_path / "t")
    assert _run(trusted).ok
    assert not warmed.is_set()
    sandboxed = _project(tmp_path / "s", level="sandboxed")
    try:
        result = _run(sandboxed)
    except SandboxUnavailable as exc:  # pragma: no cover - depends on the kernel
        pytest.skip(f"sandbox unavailable here: {exc}")
    assert warmed.wait(60) and result.ok and result.stored > 0
    assert hooked == []  # nothing escaped the warm-up thread
