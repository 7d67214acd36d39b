"""A record breaking the contract is refused alone, naming the field, the same at every level.

Real plugin folders run with ``wiseflow.run_pipeline`` on a plugin manager, trusted (in
the host) and sandboxed (a confined worker): what the run stores, dead-letters and reports
must not depend on the level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import wiseflow
from wiseflow import SandboxUnavailable
from wiseflow._host._manager import PluginManager
from wiseflow._store import Store

LEVELS = ["trusted", "sandboxed"]

CONNECTOR = """\
import msgspec
from wiseflow import Checkpoint, ConnectorPlugin, Record

def bypass(**fields):
    # a record changed around the constructor's checks (what `Record(...)` would refuse)
    r = Record(id="bad", source="src")
    for name, value in fields.items():
        if name == "data":
            r.data.update(value)  # changed in place
        else:
            msgspec.structs.force_setattr(r, name, value)
    return r

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(5):
            yield Record(id=f"a{i}", source="src", title=f"a{i}")
        yield BAD
        for i in range(5):
            yield Record(id=f"b{i}", source="src", title=f"b{i}")
        yield Checkpoint(state={"done": True})
"""

PROCESSOR = """\
import msgspec
from wiseflow import ProcessorPlugin, Record

class P(ProcessorPlugin):
    def process(self, batch):
        out = []
        for r in batch:
            r = r.annotate("seen", True)
            if r.id == "a3":
                BAD
            out.append(r)
        return out
"""

GOOD = """\
from wiseflow import Checkpoint, ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(10):
            yield Record(id=f"a{i}", source="src")
"""


def _plugin(root: Path, name: str, kind: str, code: str) -> None:
    folder = root / "plugins" / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\nentry = "plugin:P"\n'
    )
    (folder / "plugin.py").write_text(code)


def _run(root: Path, level: str, connector: str, processor: str | None = None) -> dict[str, Any]:
    """Run ``src`` (and ``proc``) at ``level``; the run document plus its dead letters."""
    _plugin(root, "src", "connector", connector)
    pipe = '[pipeline]\nname = "t"\nbatch_size = 4\n[[sources]]\nplugin = "src"\n'
    if processor is not None:
        _plugin(root, "proc", "processor", processor)
        pipe += '[[processors]]\nplugin = "proc"\n'
    (root / "p.toml").write_text(pipe)
    try:
        with PluginManager(
            plugin_dirs=[root / "plugins"], entry_points=False, data_dir=root / "wf",
            level=level, cache=False,
        ) as pm:  # fmt: skip
            doc = wiseflow.run_pipeline(root / "p.toml", manager=pm, report="").to_dict()
    except SandboxUnavailable as exc:  # pragma: no cover - depends on the kernel
        pytest.skip(f"sandbox unavailable here: {exc}")
    with Store.open(root / "wf") as store:
        doc["stored_ids"] = sorted(r.id for r in store.records())
        doc["dead"] = store.dead_letters()
        doc["checkpoint"] = store.checkpoint("src")
    return doc


GOOD_IDS = sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)])

BYPASSES = [
    # (how the bad record is made, the dead letter's record_id, its reason)
    ('bypass(tags="abc")', "bad", "Record.tags: expected a tuple or list of str, got str 'abc'"),
    ("bypass(id=1)", "1", "Record.id: expected a str, got int 1"),
    ("bypass(title=None)", "bad", "Record.title: expected a str, got NoneType None"),
    (
        'bypass(data={"k": b"raw"})',  # msgpack carries bytes: the host's decoder refuses it
        "bad",
        "Record.data['k']: expected JSON (None, bool, int, float, str, list or dict with str "
        "keys), got bytes b'raw'",
    ),
    (
        'bypass(data={"k": [2**70]})',  # msgpack cannot carry it: the worker refuses it
        "bad",
        "Record.data['k'][0]: integer 1180591620717411303424 is outside the 64-bit range "
        "JSON data keeps",
    ),
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(("bad", "record_id", "reason"), BYPASSES)
def test_a_record_made_around_the_constructor_is_one_dead_letter(
    tmp_path: Path, level: str, bad: str, record_id: str, reason: str
) -> None:
    """5 good, 1 bypassing the constructor, 5 good: 10 stored, 1 WF406 naming the field."""
    doc = _run(tmp_path, level, CONNECTOR.replace("BAD", bad))
    assert doc["stored_ids"] == GOOD_IDS
    assert [(d["record_id"], d["code"], d["reason"]) for d in doc["dead"]] == [
        (record_id, "WF406", reason)
    ]
    assert doc["status"] == "partial" and doc["errors"] == []  # the stream was not killed
    assert doc["plugins"]["src"]["state"] == "ACTIVE"
    assert doc["checkpoint"] == {"done": True}


@pytest.mark.parametrize("level", LEVELS)
def test_what_the_wire_mends_is_stored_the_same_at_every_level(tmp_path: Path, level: str) -> None:
    """A tuple or set put in data in place is stored as a list, as msgpack carries it."""
    doc = _run(tmp_path, level, CONNECTOR.replace("BAD", 'bypass(data={"t": (1, 2), "s": {3}})'))
    assert doc["stored_ids"] == sorted([*GOOD_IDS, "bad"]) and doc["dead"] == []
    with Store.open(tmp_path / "wf") as store:
        (mended,) = [r for r in store.records() if r.id == "bad"]
    assert mended.data == {"t": [1, 2], "s": [3]}


@pytest.mark.parametrize("level", LEVELS)
def test_a_record_refused_by_its_constructor_ends_the_stream_as_the_plugins_error(
    tmp_path: Path, level: str
) -> None:
    """Record(tags="abc") raises in fetch: the 5 records before are stored, the error names it."""
    doc = _run(
        tmp_path, level, CONNECTOR.replace("BAD", 'Record(id="x", source="src", tags="abc")')
    )
    assert doc["stored_ids"] == [f"a{i}" for i in range(5)]
    assert doc["status"] == "failed" and doc["dead"] == []
    (error,) = doc["errors"]
    assert error["code"] == "WF400"
    assert (
        "TypeError: Record.tags: expected a tuple or list of str, got str 'abc'"
        in (error["message"])
    )
    assert "plugin.py" in (error["traceback"] or "")  # the plugin's own line, not the host's


PROCESSOR_BAD = [
    # (what the processor does to record a3, the reason of its dead letter)
    (
        'msgspec.structs.force_setattr(r, "title", 5)',
        "a returned record breaks the record contract: Record.title: expected a str, got int 5",
    ),
    (
        'r.annotations["seen"] = float("nan")',  # sent as it is: the host's decoder refuses it
        "a returned record breaks the record contract: Record.annotations['seen']: expected "
        "a finite float, got nan",
    ),
    (
        'r.annotations["seen"] = 2**70',  # cannot be sent from a worker at all
        "a returned record breaks the record contract: Record.annotations['seen']: integer "
        "1180591620717411303424 is outside the 64-bit range JSON data keeps",
    ),
    (
        'r = r.replace(tags="abc")',  # refused by replace() inside process(): the plugin's error
        "TypeError: Record.tags: expected a tuple or list of str, got str 'abc'",
    ),
]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(("bad", "reason"), PROCESSOR_BAD)
def test_a_processor_returning_a_bad_record_dead_letters_that_record_only(
    tmp_path: Path, level: str, bad: str, reason: str
) -> None:
    """The batch is bisected down to the input whose output broke the contract; the rest stored."""
    doc = _run(tmp_path, level, GOOD, PROCESSOR.replace("BAD", bad))
    assert doc["stored_ids"] == sorted(f"a{i}" for i in range(10) if i != 3)
    assert [(d["record_id"], d["code"], d["plugin"]) for d in doc["dead"]] == [
        ("a3", "WF400", "proc")
    ]
    assert reason in doc["dead"][0]["reason"]
    assert doc["plugins"]["proc"]["state"] == "ACTIVE"  # the worker was not stopped


@pytest.mark.parametrize("level", LEVELS)
def test_a_text_sqlite_cannot_store_is_one_dead_letter_at_every_level(
    tmp_path: Path, level: str
) -> None:
    """A lone surrogate in a title passes the record's checks (it is a str) but is no
    UTF-8: the worker's encoder refuses it (sandboxed), the store's driver would too
    (trusted): one WF406 dead letter either way, the rest stored, the run goes on."""
    bad = 'Record(id="bad", source="src", title="x\\ud800")'
    doc = _run(tmp_path, level, CONNECTOR.replace("BAD", bad))
    assert doc["stored_ids"] == GOOD_IDS
    assert [(d["record_id"], d["code"]) for d in doc["dead"]] == [("bad", "WF406")]
    assert "surrogate" in doc["dead"][0]["reason"]
    assert doc["status"] == "partial" and doc["errors"] == []
    assert doc["checkpoint"] == {"done": True}


def test_the_store_alone_refuses_that_text(tmp_path: Path) -> None:
    """The positive control: written straight into the store, the batch fails (the engine's
    screening is what turns it into a dead letter)."""
    from wiseflow import Record

    record = Record(id="bad", source="src", title="x\ud800")
    with Store.open(tmp_path / "wf") as store:
        assert "surrogate" in (store.encode_error(record) or "")
        with pytest.raises(UnicodeEncodeError):
            store.write_batch("src", [Record(id="ok", source="src"), record], None)
        assert store.count() == 0  # the batch was rolled back, all of it
