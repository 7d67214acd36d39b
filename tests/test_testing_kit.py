"""The testing kit: run_plugin at both levels, grants, and fake HTTP through the real broker.

The plugin classes below live at the top of this module on purpose: a sandboxed run imports
them in a real worker process, from this file.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wiseflow import (
    AnalyzerPlugin,
    Checkpoint,
    ConnectorPlugin,
    PermissionDenied,
    ProcessorPlugin,
    Record,
    TransientError,
    WiseflowError,
)
from wiseflow._contract._manifest import Manifest, Permissions
from wiseflow.testing import run_plugin

URL = "http://127.0.0.1:9/items"


class PidConnector(ConnectorPlugin):
    """Yields the id of the process it runs in, and logs a line."""

    name = "pid"

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        self.ctx.log.info("fetching", start=(state or {}).get("n", 0))
        yield Record(id=str(os.getpid()), source=self.ctx.name)
        yield Checkpoint(state={"n": 1})


class Fetcher(ConnectorPlugin):
    """GETs ``url`` through ctx.http and reports what happened as one record."""

    name = "fetcher"

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        url = (state or {}).get("url", URL)
        try:
            resp = self.ctx.http.get(url)
        except PermissionDenied as exc:
            yield Record(id="denied", source=self.ctx.name, text=exc.code)
            return
        except TransientError as exc:
            yield Record(id="failed", source=self.ctx.name, text=exc.message)
            return
        yield Record(
            id="fetched",
            source=self.ctx.name,
            text=resp.text,
            data={"status": resp.status, "header": resp.headers.get("x-fake", "")},
        )


class Doubler(ProcessorPlugin):
    """Appends the worker's pid to each title."""

    name = "doubler"

    def process(self, batch: list[Record]) -> list[Record]:
        return [r.replace(title=f"{r.title}@{os.getpid()}") for r in batch]


class Counter(AnalyzerPlugin):
    """Counts records."""

    name = "counter"

    def initialize(self, ctx: Any) -> None:
        super().initialize(ctx)
        self.n = 0

    def analyze(self, batch: list[Record]) -> None:
        self.n += len(batch)

    def result(self) -> dict[str, Any]:
        return {"records": self.n, "pid": os.getpid()}


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_class_runs_in_this_process_or_in_a_real_worker(level: str) -> None:
    """level="sandboxed" really runs the class in another process; trusted runs it here."""
    run = run_plugin(PidConnector, level=level)
    pid = int(run.records[0].id)
    assert (pid == os.getpid()) is (level == "trusted")
    assert run.level == level
    assert run.state == "ACTIVE"
    assert run.checkpoints[-1].state == {"n": 1}
    assert run.logs == ["INFO fetching start=0"]


def test_processor_and_analyzer_run_in_a_worker_with_records() -> None:
    """Records go into a sandboxed processor and analyzer and come back through the wire."""
    records = [Record(id=str(i), source="t", title="x") for i in range(3)]
    out = run_plugin(Doubler, records=records, level="sandboxed")
    assert [r.id for r in out.records] == ["0", "1", "2"]
    assert all(r.title != f"x@{os.getpid()}" for r in out.records)
    result = run_plugin(Counter, records=records, level="sandboxed").result
    assert result is not None and result["records"] == 3 and result["pid"] != os.getpid()


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_granted_fake_url_is_served_through_the_broker(level: str) -> None:
    """A faked URL that is granted answers with the fake body, and the request is recorded."""
    run = run_plugin(Fetcher, level=level, grants={"network": ["127.0.0.1:9"]}, http={URL: "hello"})
    assert [(r.id, r.text) for r in run.records] == [("fetched", "hello")]
    assert run.requests == [("GET", URL)]
    assert run.denied == []


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_ungranted_fake_url_is_still_refused_with_wf301(level: str) -> None:
    """Faking a URL grants nothing: without the grant the broker refuses it (WF301)."""
    run = run_plugin(Fetcher, level=level, http={URL: "hello"})
    assert [(r.id, r.text) for r in run.records] == [("denied", "WF301")]
    assert run.requests == []  # refused before the fake was asked
    assert run.denied and "127.0.0.1:9" in run.denied[0]


def test_redirect_from_a_fake_to_an_ungranted_host_is_refused() -> None:
    """The broker's redirect check still runs for faked responses."""
    run = run_plugin(
        Fetcher,
        grants={"network": ["127.0.0.1:9"]},
        http={URL: (302, {"location": "http://elsewhere.example/x"}, "")},
    )
    assert [(r.id, r.text) for r in run.records] == [("denied", "WF301")]
    assert "elsewhere.example:80" in run.denied[0]


@pytest.mark.parametrize(("grants", "expected"), [(None, "fetched"), ({}, "denied")])
def test_manifest_pair_declares_and_grants_decide(grants: Any, expected: str) -> None:
    """With (Manifest, class) the manifest declares; the plugin gets declared AND granted."""
    manifest = Manifest(
        name="pair",
        version="1.0",
        kind="connector",
        entry="anything:Here",
        permissions=Permissions(network=("127.0.0.1:9",)),
    )
    run = run_plugin((manifest, Fetcher), level="sandboxed", grants=grants, http={URL: "ok"})
    assert [r.id for r in run.records] == [expected]


def test_callable_fake_answers_with_status_and_headers() -> None:
    """A function of the request may answer (status, headers, body); JSON bodies are sent."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> Any:
        seen.append(request.headers["host"])
        return (404, {"x-fake": "yes"}, {"error": "none here"})

    run = run_plugin(Fetcher, grants={"network": ["127.0.0.1:9"]}, http=answer)
    record = run.records[0]
    assert record.data == {"status": 404, "header": "yes"}
    assert record.text == '{"error": "none here"}'
    assert seen == ["127.0.0.1:9"]


def test_unfaked_url_fails_naming_the_urls_that_are_faked() -> None:
    """A granted URL the test did not fake fails like an unreachable host, saying why."""
    run = run_plugin(
        Fetcher,
        grants={"network": ["127.0.0.1:9"]},
        http={"http://127.0.0.1:9/other": "x"},
    )
    assert run.records[0].id == "failed"
    assert "no fake response for GET http://127.0.0.1:9/items" in run.records[0].text
    assert "http://127.0.0.1:9/other" in run.records[0].text


def test_class_defined_in_a_function_cannot_run_sandboxed() -> None:
    """A class a worker cannot import is refused with WF102, never silently run trusted."""

    class Local(ProcessorPlugin):
        def process(self, batch: list[Record]) -> list[Record]:
            return batch

    with pytest.raises(WiseflowError) as err:
        run_plugin(Local, level="sandboxed")
    assert err.value.code == "WF102"
    assert "cannot be imported by a worker" in err.value.message
    assert run_plugin(Local, records=[Record(id="1", source="t")]).records[0].id == "1"


def test_installed_class_is_imported_by_name_in_the_worker() -> None:
    """A bundled (installed) class runs sandboxed, imported by its module name."""
    from wiseflow._host._kit import plugin_spec
    from wiseflow.plugins.hello import HelloConnector

    assert plugin_spec(HelloConnector, level="sandboxed").candidate.code_root is None
    assert plugin_spec(PidConnector, level="sandboxed").candidate.code_root == str(
        Path(__file__).resolve().parent
    )
    run = run_plugin(HelloConnector, {"count": 2}, level="sandboxed")
    assert run.level == "sandboxed"
    assert [r.id for r in run.records] == ["0", "1"]


FOLDER_PLUGIN = """\
    import os
    from wiseflow import ProcessorPlugin

    class Tag(ProcessorPlugin):
        def process(self, batch):
            return [r.annotate("tag", os.getpid()) for r in batch]
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_plugin_folder_runs_with_its_manifest(tmp_path: Path, level: str) -> None:
    """A plugin folder path runs with its own manifest at the level asked."""
    folder = tmp_path / "tag"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "tag"\nversion = "1.0"\nkind = "processor"\nentry = "plugin:Tag"\n'
    )
    (folder / "plugin.py").write_text(textwrap.dedent(FOLDER_PLUGIN))
    out = run_plugin(folder, records=[Record(id="1", source="t")], level=level)
    assert (out.records[0].annotations["tag"] == os.getpid()) is (level == "trusted")


class Failing(ProcessorPlugin):
    """Logs a line, then fails."""

    name = "failing"

    def process(self, batch: list[Record]) -> list[Record]:
        self.ctx.log.warning("about to fail", size=len(batch))
        raise KeyError("urgent")


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_failure_carries_what_the_plugin_logged(level: str) -> None:
    """When the plugin fails, the error shows its last log lines (as a note)."""
    with pytest.raises(WiseflowError) as err:
        run_plugin(Failing, records=[Record(id="1", source="t")], level=level)
    assert "WARNING about to fail size=1" in "\n".join(getattr(err.value, "__notes__", []))


def test_config_is_validated_as_for_an_operator() -> None:
    """A config key the plugin does not take is WF105, as `wiseflow run` would say."""
    with pytest.raises(WiseflowError) as err:
        run_plugin(Fetcher, {"nope": 1})
    assert err.value.code == "WF105"


def test_unknown_grant_key_is_refused() -> None:
    """A misspelt grant key is an error, not a silently empty grant."""
    with pytest.raises(WiseflowError) as err:
        run_plugin(Fetcher, grants={"netwrok": ["127.0.0.1:9"]})
    assert err.value.code == "WF105"
