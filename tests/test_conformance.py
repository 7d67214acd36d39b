"""The conformance suite: `wiseflow plugins test` and `wiseflow.testing.conformance`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from wf_cli import wf
from wiseflow.testing import ConformanceReport, conformance

GOOD = """\
    from typing import Annotated

    import msgspec
    from wiseflow import Checkpoint, ConnectorPlugin

    from wiseflow import Record


    class Counter(ConnectorPlugin):
        class Config(msgspec.Struct, frozen=True):
            count: Annotated[int, msgspec.Meta(description="items per run")] = 3

        def fetch(self, state):
            start = (state or {}).get("next", 0)
            for i in range(start, start + self.ctx.config.count):
                yield Record(id=str(i), source=self.ctx.name)
            yield Checkpoint(state={"next": start + self.ctx.config.count})
"""


def make_plugin(root: Path, name: str, kind: str, body: str, *, permissions: str = "") -> Path:
    folder = root / name
    folder.mkdir()
    cls = body.split("class ")[1].split("(")[0]
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\n'
        f'entry = "plugin:{cls}"\n\n[plugin.permissions]\n{permissions}'
    )
    (folder / "plugin.py").write_text(textwrap.dedent(body))
    return folder


def failed(report: ConformanceReport) -> dict[str, str]:
    return {c.name: c.message for c in report.checks if not c.ok}


def test_a_conforming_connector_passes_every_check_sandboxed(tmp_path: Path) -> None:
    """A plugin that keeps the contract gets ok, with every check named and passed."""
    report = conformance(make_plugin(tmp_path, "counter", "connector", GOOD))
    assert report.ok, report.describe()
    assert [c.name for c in report.checks] == [
        "manifest",
        "interface",
        "plugins check",
        "config schema",
        "connector checkpoint",
        "shutdown idempotent",
        "permissions",
    ]


def test_sandboxed_suite_never_imports_the_plugin_in_the_host(tmp_path: Path) -> None:
    """At level sandboxed the plugin's module runs only in workers (it refuses the host)."""
    body = """\
        import sys
        if "wiseflow._host._manager" in sys.modules:
            raise RuntimeError("imported inside the host process")
        from wiseflow import ProcessorPlugin

        class P(ProcessorPlugin):
            def process(self, batch):
                return batch
    """
    folder = make_plugin(tmp_path, "shy", "processor", body)
    assert conformance(folder).ok
    report = conformance(folder, level="trusted")  # the same plugin, imported in the host
    assert "imported inside the host process" in failed(report)["permissions"]


def test_undescribed_config_field_fails_the_schema_check(tmp_path: Path) -> None:
    """A Config field without a description is named by the config schema check."""
    body = GOOD.replace(
        'count: Annotated[int, msgspec.Meta(description="items per run")] = 3',
        "count: int = 3",
    )
    report = conformance(make_plugin(tmp_path, "bare", "connector", body), level="trusted")
    assert list(failed(report)) == ["config schema"]
    assert "count" in failed(report)["config schema"]


def test_connector_that_repeats_delivered_records_fails_the_checkpoint_check(
    tmp_path: Path,
) -> None:
    """Records before the last checkpoint must not come again when resuming from it."""
    body = GOOD.replace('start = (state or {}).get("next", 0)', "start = 0")
    report = conformance(make_plugin(tmp_path, "again", "connector", body), level="trusted")
    assert list(failed(report)) == ["connector checkpoint"]
    assert "already delivered" in failed(report)["connector checkpoint"]


def test_checkpoint_state_is_resumed_from_as_the_store_keeps_it(tmp_path: Path) -> None:
    """The second fetch gets the state back through JSON: a tuple comes back as a list."""
    body = GOOD.replace(
        'start = (state or {}).get("next", 0)',
        'start = state["next"][0] if state and isinstance(state["next"], list) else 0',
    ).replace(
        'yield Checkpoint(state={"next": start + self.ctx.config.count})',
        'yield Checkpoint(state={"next": (start + self.ctx.config.count,)})',
    )
    report = conformance(make_plugin(tmp_path, "tuple", "connector", body), level="trusted")
    assert report.ok, report.describe()
    body = body.replace('isinstance(state["next"], list)', 'isinstance(state["next"], tuple)')
    report = conformance(make_plugin(tmp_path, "tuple2", "connector", body), level="trusted")
    assert list(failed(report)) == ["connector checkpoint"]


def test_processor_that_invents_ids_fails(tmp_path: Path) -> None:
    """A processor must keep the id and source of the records it returns."""
    body = """\
        from wiseflow import ProcessorPlugin

        class Renamer(ProcessorPlugin):
            def process(self, batch):
                return [r.replace(id="new-" + r.id) for r in batch]
    """
    report = conformance(make_plugin(tmp_path, "renamer", "processor", body), level="trusted")
    assert list(failed(report)) == ["processor keeps ids"]


def test_analyzer_with_a_result_that_is_not_json_fails(tmp_path: Path) -> None:
    """An analyzer's result must be a JSON-serialisable dict (NaN is not JSON)."""
    body = """\
        from wiseflow import AnalyzerPlugin

        class Nan(AnalyzerPlugin):
            def analyze(self, batch):
                pass

            def result(self):
                return {"score": float("nan")}
    """
    report = conformance(make_plugin(tmp_path, "nan", "analyzer", body), level="trusted")
    assert list(failed(report)) == ["analyzer result"]


def test_shutdown_that_fails_the_second_time_fails(tmp_path: Path) -> None:
    """shutdown() must be idempotent: a second call may not raise."""
    body = """\
        from wiseflow import ProcessorPlugin

        class Once(ProcessorPlugin):
            def process(self, batch):
                return batch

            def shutdown(self):
                if getattr(self, "closed", False):
                    raise RuntimeError("already closed")
                self.closed = True
    """
    report = conformance(make_plugin(tmp_path, "once", "processor", body), level="trusted")
    assert "shutdown idempotent" in failed(report)


def test_using_an_undeclared_permission_fails_even_if_caught(tmp_path: Path) -> None:
    """A plugin that asks the broker for more than it declares fails the permissions check."""
    body = """\
        from wiseflow import PermissionDenied, ProcessorPlugin

        class Nosy(ProcessorPlugin):
            def process(self, batch):
                try:
                    self.ctx.secret("HOME_TOKEN")
                except PermissionDenied:
                    pass
                return batch
    """
    folder = make_plugin(tmp_path, "nosy", "processor", body, permissions='env = ["OTHER"]\n')
    report = conformance(folder)
    assert list(failed(report)) == ["permissions"]
    assert "HOME_TOKEN" in failed(report)["permissions"]


def test_broken_manifest_fails_and_nothing_runs(tmp_path: Path) -> None:
    """A manifest that does not load fails 'manifest'; the later checks say they did not run."""
    folder = make_plugin(tmp_path, "broken", "processor", "class P(object):\n    pass\n")
    (folder / "plugin.toml").write_text('[plugin]\nname = "broken"\nkind = "processor"\n')
    report = conformance(folder)
    assert not report.ok
    assert "manifest" in failed(report)
    assert failed(report)["permissions"].startswith("not run")


def test_fixture_passes_a_conforming_plugin(tmp_path: Path, wiseflow_conformance: Any) -> None:
    """The pytest fixture runs the suite and returns the report when every check passes."""
    folder = make_plugin(tmp_path, "counter", "connector", GOOD)
    assert wiseflow_conformance(folder, level="trusted").ok


def test_cli_prints_the_report_as_json_and_exits_by_verdict(tmp_path: Path) -> None:
    """`plugins test --json` prints {plugin, ok, checks}; exit 0 when it conforms, 1 if not."""
    good = make_plugin(tmp_path, "counter", "connector", GOOD)
    res = wf("plugins", "test", str(good), "--json", "--data-dir", "d", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["plugin"] == "counter" and doc["ok"] is True
    assert {"name", "ok", "message"} <= set(doc["checks"][0])
    res = wf(
        "plugins", "test", str(good), "--plugin-config", '{"count": "x"}', "--data-dir", "d",
        cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 1
    assert "FAIL connector checkpoint: not run: WF105" in res.stdout


@pytest.mark.parametrize("name", ["upper", "wordcount"])
def test_cli_tests_an_installed_plugin_by_name(tmp_path: Path, name: str) -> None:
    """A discovered plugin is tested by name, in its sandbox."""
    res = wf("plugins", "test", name, "--json", "--data-dir", "d", cwd=tmp_path)
    doc = json.loads(res.stdout)
    assert doc["plugin"] == name
    checks = {c["name"]: c["ok"] for c in doc["checks"]}
    assert checks["manifest"] and checks["interface"] and checks["permissions"]


def test_cli_refuses_an_unknown_name_or_a_folder_without_a_manifest(tmp_path: Path) -> None:
    """Bad input is exit 2 with WF602 (no such plugin) or WF101 (no plugin.toml)."""
    res = wf("plugins", "test", "no-such-plugin", "--json", "--data-dir", "d", cwd=tmp_path)
    assert res.returncode == 2
    assert json.loads(res.stdout)["error"]["code"] == "WF602"
    res = wf("plugins", "test", str(tmp_path), "--json", "--data-dir", "d", cwd=tmp_path)
    assert res.returncode == 2
    assert json.loads(res.stdout)["error"]["code"] == "WF101"


def test_cli_runs_a_plugin_with_its_dependency_from_plugin_dirs(tmp_path: Path) -> None:
    """A plugin that requires another is run with it, found where the operator keeps it."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    make_plugin(
        plugins,
        "callee",
        "processor",
        """\
        from wiseflow import ProcessorPlugin

        class Callee(ProcessorPlugin):
            def process(self, batch):
                return [r.annotate("callee", True) for r in batch]
        """,
    )
    caller = make_plugin(
        plugins,
        "caller",
        "processor",
        """\
        from wiseflow import ProcessorPlugin

        class Caller(ProcessorPlugin):
            def process(self, batch):
                return self.ctx.plugin("callee").process(batch)
        """,
    )
    with (caller / "plugin.toml").open("a") as fh:
        fh.write('\n[plugin.requires]\ncallee = ">=1"\n')
    res = wf("--plugin-dir", "plugins", "plugins", "test", "plugins/caller", "--json", cwd=tmp_path)
    doc = json.loads(res.stdout)
    assert doc["ok"], doc
