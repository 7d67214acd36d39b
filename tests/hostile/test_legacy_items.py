"""Original-API plugins handing back hostile dicts are screened like any plugin (SPEC §16).

A legacy plugin's dicts become records through the adapter, which runs inside the
plugin's confined worker: whatever it makes still crosses the wire and the record
contract like any plugin's output. Each bad item is refused on its own, named, with the
reason (a dead letter), and never mended by guessing; the rest go on; the host survives.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from wiseflow import PluginError, Record, SkipRecord
from wiseflow.testing import run_plugin

CONNECTOR = """\
from core.plugins import ConnectorPlugin


def deep():
    d = []
    for _ in range(200):
        d = [d]
    return d


class Hostile(ConnectorPlugin):
    name = "hostile_items"

    def fetch_data(self, query, **kwargs):
        return {"data": [
            {"id": "ok-1", "title": "fine", "content": "x"},
            {"id": "big", "title": "T" * (70 * 1024 * 1024)},
            {"id": "ok-2", "content": "\\x1b]0;owned\\x07\\x1b[31mred" * 1000},
            {1: "a key that is not a str", "id": "int-key"},
            {"id": ["a", "list"]},
            {"id": "set", "labels": {1, 2}},
            "not a dict",
            {"id": "nan", "score": float("nan")},
            {"id": "deep", "nested": deep()},
            {"id": "int-title", "title": 12345},
        ]}
"""

PROCESSOR = """\
from core.plugins import ProcessorPlugin


class HostileProcessor(ProcessorPlugin):
    name = "hostile_processor"

    def process(self, data, **kwargs):
        if data["id"] == "keys":
            return {**data, 7: "int key"}
        if data["id"] == "type":
            return 42
        if data["id"] == "list":
            return [data, "not a dict"]
        return {**data, "content": data["content"] + "!"}
"""


def _plugin(root: Path, name: str, kind: str, module: str, source: str, cls: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / f"{module}.py").write_text(source)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\n'
        f'entry = "{module}:{cls}"\nadapter = "legacy"\n'
    )
    return folder


@pytest.mark.usefixtures("host_survives")
def test_hostile_legacy_items_are_refused_one_by_one(tmp_path: Path) -> None:
    """Huge strings, non-str keys, wrong types, sets, NaN and deep nesting from a legacy
    connector are each refused (naming the field); the good items are stored as given."""
    folder = _plugin(tmp_path, "hostile-items", "connector", "hostile", CONNECTOR, "Hostile")
    run = run_plugin(folder, level="sandboxed")
    assert [r.id for r in run.records] == ["ok-1", "ok-2"]
    assert run.records[1].text.startswith("\x1b]0;owned")  # data stays data, as for any plugin
    refused = {s.record_id: (s.code, s.reason) for s in run.skipped}
    assert set(refused) == {
        "big", "int-key", "['a', 'list']", "set", "(no id)", "nan", "deep", "int-title",
    }  # fmt: skip
    assert refused["big"][0] == "WF406"  # the frame limit of every worker
    assert "frame" in refused["big"][1]
    expected = {
        "int-key": "keys must be str",
        "['a', 'list']": "Record.id",
        "set": "Record.data['labels']",
        "(no id)": "expected a dict",
        "nan": "finite float",
        "deep": "nested deeper",
        "int-title": "Record.title",
    }
    for rid, words in expected.items():
        code, reason = refused[rid]
        assert code == "WF408" and words in reason and "legacy item refused" in reason, rid


@pytest.mark.usefixtures("host_survives")
def test_hostile_legacy_processor_output_sends_only_its_record_to_the_dead_letters(
    tmp_path: Path,
) -> None:
    """A legacy processor returning a non-str key, a number or a list holding a string
    gets that record refused (SkipRecord naming it); the batch call fails, nothing is
    mended, and the record it handled well comes back changed."""
    folder = _plugin(tmp_path, "hostile-proc", "processor", "proc", PROCESSOR, "HostileProcessor")
    good = [Record(id="fine", source="s", text="ok")]
    assert [r.text for r in run_plugin(folder, level="sandboxed", records=good).records] == ["ok!"]
    for rid, words in (("keys", "keys must be str"), ("type", "got int 42"),
                       ("list", "expected a dict")):  # fmt: skip
        bad = [Record(id=rid, source="s", text="t")]
        with pytest.raises(SkipRecord) as caught:
            run_plugin(folder, level="sandboxed", records=bad)
        err = caught.value
        assert getattr(err, "code", None) == "WF408", err
        assert getattr(err, "record_id", None) == rid and words in str(err)


NETWORK = """\
import urllib.request
from core.plugins import ConnectorPlugin


class Direct(ConnectorPlugin):
    name = "direct_network"

    def fetch_data(self, query, **kwargs):
        body = urllib.request.urlopen(self.config["url"], timeout=10).read().decode()
        return {"data": [{"id": "got", "content": body}]}
"""


def test_legacy_code_opening_sockets_itself_gets_no_network_in_the_sandbox(
    tmp_path: Path,
) -> None:
    """Original-API code that connects by itself (urllib) is held by the sandbox like any
    plugin, even with the host declared and granted: the call fails as the plugin's own
    failure and the server never sees a request. Positive control: the same plugin at
    level trusted (no confinement) reaches the server."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the host")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        folder = _plugin(tmp_path, "direct-network", "connector", "direct", NETWORK, "Direct")
        with (folder / "plugin.toml").open("a") as f:
            f.write(f'\n[plugin.permissions]\nnetwork = ["127.0.0.1:{port}"]\n')
        config = {"url": f"http://127.0.0.1:{port}/x"}
        with pytest.raises(PluginError) as caught:
            run_plugin(folder, config, level="sandboxed")
        assert caught.value.code == "WF400" and "Operation not permitted" in caught.value.message
        assert seen == []
        trusted = run_plugin(folder, config, level="trusted")
        assert [r.text for r in trusted.records] == ["hello from the host"]
        assert seen == ["/x"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
