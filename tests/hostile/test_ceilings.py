"""Attack family: self-chosen quotas and amplification, against the host's ceilings (SPEC §11).

Each attack is a real folder plugin run by the manager through a real pipeline; each has a
positive control, the same plugin under a policy whose ceiling is raised, which gets through.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ceilings_kit import CONNECTOR, project, run

from wiseflow._host._manager import PluginManager
from wiseflow._policy._datadir import DataDirGuard
from wiseflow._policy._operator import load_operator_config

KIT = Path(__file__).with_name("ceilings_kit.py")

#: A processor that returns ``n`` distinct copies of each record of a batch holding "r4".
MULTIPLY = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        if not any(r.id == "r4" for r in batch):
            return batch
        return [r.replace(id=f"{{r.id}}-{{i}}") for r in batch for i in range({n})]
"""

#: A processor that, on the batch holding "r4", fills its data dir with ``files`` files.
FILLER = """\
import os
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        if any(r.id == "r4" for r in batch):
            for i in range({files}):
                with open(os.path.join(self.ctx.data_dir, f"f{{i}}"), "wb") as f:
                    f.write(b"x" * {size})
        return batch
"""


def _fates(doc: dict[str, Any], n: int) -> dict[str, str]:
    """Each of the source's ``n`` records: "stored" or its dead letter's code."""
    dead = {d["record_id"]: d["code"] for d in doc["dead"]}
    assert doc["records"]["stored"] + len(dead) >= n, doc
    return {f"r{i}": dead.get(f"r{i}", "stored") for i in range(n)}


def _codes(doc: dict[str, Any]) -> list[str]:
    return [e["code"] for e in doc["errors"]]


def _message(doc: dict[str, Any], code: str) -> str:
    return next(e["message"] for e in doc["errors"] if e["code"] == code)


# -- amplification: records out per record in ------------------------------------------------


def test_a_million_records_for_four_are_refused_before_the_host_decodes_them(
    tmp_path: Path,
) -> None:
    """A processor answering 4 records with 1.5 M fails with WF403; the host stays small."""
    amp = (
        "from wiseflow import ProcessorPlugin\n"
        "class P(ProcessorPlugin):\n"
        "    def process(self, batch):\n"
        "        return [batch[0]] * 1_500_000\n"
    )
    root = project(
        tmp_path,
        {"src": ("connector", CONNECTOR.format(n=4)), "amp": ("processor", amp)},
        resources={"amp": "memory_mb = 256"},
    )
    doc = _host_run(root)
    assert _codes(doc) == ["WF403"]
    message = _message(doc, "WF403")
    assert "returned 1,500,000 records for 4 input records" in message
    assert "max_output_ratio 100" in message
    assert _fates(doc, 4) == dict.fromkeys(("r0", "r1", "r2", "r3"), "WF403")
    assert doc["states"] == {"src": "ACTIVE", "amp": "ERROR"}
    # decoding them costs the host ~1.2 GB (measured); refused, it stays near its baseline
    assert doc["host_maxrss_mb"] < 400, doc["host_maxrss_mb"]


def _host_run(root: Path) -> dict[str, Any]:
    """Run ROOT's pipeline in a fresh host process: its run document and peak RSS."""
    proc = subprocess.run(
        [sys.executable, str(KIT), str(root)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


NESTED = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return {expr}
"""


RAW_RESULT = """\
import os, struct, sys, time
import msgspec
from wiseflow import ProcessorPlugin, Record

class P(ProcessorPlugin):
    def process(self, batch):
        # ["result", id, value, None], the value written as raw msgpack: 1 byte per {{}}
        count, item = {count}, {item}
        body = b"\\x94\\xa6result\\x01\\x91\\xdd" + struct.pack(">I", count) + item * count
        body += b"\\xc0"
        os.write(int(sys.argv[1]), struct.pack(">I", len(body)) + body)
        time.sleep(30)
"""
RECORD_EXT = (
    'msgspec.msgpack.encode(msgspec.msgpack.Ext(1, msgspec.msgpack.encode(Record(id="x", '
    'source="s"))))'
)


@pytest.mark.parametrize(
    ("count", "item"),
    [(3_000_000, RECORD_EXT), (10_000_000, 'b"\\x80"')],
    ids=["records-one-level-down", "empty-maps"],
)
def test_output_hidden_one_level_down_is_refused_before_decoding(
    tmp_path: Path, count: int, item: str
) -> None:
    """3 M Records inside one list, or 10 M empty maps: WF406, the host stays small."""
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=4)),
            "amp": ("processor", RAW_RESULT.format(count=count, item=item)),
        },
    )
    doc = _host_run(root)
    assert _codes(doc) == ["WF406"]
    assert "holding more than 2,000,000 values (refused before decoding)" in _message(doc, "WF406")
    assert _fates(doc, 4) == dict.fromkeys(("r0", "r1", "r2", "r3"), "WF406")
    assert doc["states"] == {"src": "ACTIVE", "amp": "ERROR"}
    # decoded, these cost the host ~880 MB and ~730 MB (measured); refused, ~60 MB
    assert doc["host_maxrss_mb"] < 400, doc["host_maxrss_mb"]


def test_positive_control_nested_output_under_the_value_bound_is_decoded(tmp_path: Path) -> None:
    """100,000 Records one level down are decoded (and then refused as not a list of Record)."""
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=4)),
            "amp": ("processor", NESTED.format(expr="[[batch[0]] * 100_000]")),
        },
    )
    doc = run(root)
    assert _fates(doc, 4) == dict.fromkeys(("r0", "r1", "r2", "r3"), "WF400")
    assert "returned a list holding list" in doc["dead"][0]["reason"]
    assert doc["states"]["amp"] == "ACTIVE"


RAW_CHUNK = """\
import os, struct, sys, time
import msgspec
from wiseflow import ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        records = [Record(id="x", source="s")] * {n}
        body = msgspec.msgpack.encode(["chunk", 1, records, None])
        os.write(int(sys.argv[1]), struct.pack(">I", len(body)) + body)
        time.sleep(30)
        yield from ()
"""


def test_a_stream_chunk_larger_than_workers_send_is_refused_before_decoding(
    tmp_path: Path,
) -> None:
    """A connector writing one chunk of 1.5 M Records to the channel: WF406, host small."""
    root = project(tmp_path, {"src": ("connector", RAW_CHUNK.format(n=1_500_000))})
    doc = _host_run(root)
    assert _codes(doc) == ["WF406"]
    assert "a chunk of 1,500,000 items (at most 500 accepted)" in _message(doc, "WF406")
    assert doc["records"]["stored"] == 0
    assert doc["host_maxrss_mb"] < 400, doc["host_maxrss_mb"]  # decoded: ~1.2 GB


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_a_processor_multiplying_records_meets_max_output_ratio(tmp_path: Path, level: str) -> None:
    """1,000 rows made of 4 records are WF403 at the default ratio 100; other batches go on."""
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=12)),
            "mul": ("processor", MULTIPLY.format(n=250)),
        },
    )
    _set_level(root, level)
    doc = run(root)
    assert _codes(doc) == ["WF403"]
    assert "returned 1,000 records for 4 input records (max_output_ratio 100" in _message(
        doc, "WF403"
    )
    fates = _fates(doc, 12)
    assert [fates[f"r{i}"] for i in range(4)] == ["stored"] * 4  # before the attack
    assert [fates[f"r{i}"] for i in range(4, 8)] == ["WF403"] * 4  # the batch it amplified
    assert all(fates[f"r{i}"] != "stored" for i in range(8, 12))  # the plugin is out (ERROR)
    assert doc["states"]["mul"] == "ERROR"
    assert doc["states"]["src"] == "ACTIVE"


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_positive_control_a_raised_max_output_ratio_lets_the_rows_through(
    tmp_path: Path, level: str
) -> None:
    """With [policy] max_output_ratio = 300 the same processor stores its 1,000 rows."""
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=12)),
            "mul": ("processor", MULTIPLY.format(n=250)),
        },
        policy="max_output_ratio = 300\n",
    )
    _set_level(root, level)
    doc = run(root)
    assert doc["status"] == "ok", doc["errors"]
    assert doc["records"]["stored"] == 8 + 1000


def _set_level(root: Path, level: str) -> None:
    toml = root / "wiseflow.toml"
    toml.write_text(toml.read_text().replace('level = "sandboxed"', f'level = "{level}"'))


# -- records per run ---------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_a_connector_yielding_past_max_records_per_run_is_stopped_keeping_the_rest(
    tmp_path: Path, level: str
) -> None:
    """At max_records_per_run = 20 a source of 50 stores 20 and reports WF403 naming it."""
    root = project(
        tmp_path,
        {"src": ("connector", CONNECTOR.format(n=50))},
        policy="max_records_per_run = 20\n",
        batch_size=8,
    )
    _set_level(root, level)
    doc = run(root)
    assert _codes(doc) == ["WF403"]
    assert "max_records_per_run 20" in _message(doc, "WF403")
    assert doc["records"]["stored"] == 20
    assert doc["records"]["dead_letters"] == 0


def test_positive_control_without_max_records_per_run_every_record_is_stored(
    tmp_path: Path,
) -> None:
    """By default (unlimited) the same source stores all of its 50 records."""
    root = project(tmp_path, {"src": ("connector", CONNECTOR.format(n=50))}, batch_size=8)
    doc = run(root)
    assert doc["status"] == "ok", doc["errors"]
    assert doc["records"]["stored"] == 50


# -- the data dir ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "files", "size", "ceiling"),
    [
        ("max_data_files = 100\n", 300, 1, "max_data_files 100"),
        ("max_data_mb = 1\n", 3, 600_000, "max_data_mb 1"),
    ],
    ids=["files", "bytes"],
)
@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_a_plugin_filling_its_data_dir_is_stopped_with_wf403(
    tmp_path: Path, policy: str, files: int, size: int, ceiling: str, level: str
) -> None:
    """300 files (or 1.8 MB) in a data dir past its ceiling: WF403 naming it, worker ended."""
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=12)),
            "fill": ("processor", FILLER.format(files=files, size=size)),
        },
        policy=policy,
    )
    _set_level(root, level)
    doc = run(root)
    assert _codes(doc) == ["WF403"]
    assert ceiling in _message(doc, "WF403")
    fates = _fates(doc, 12)
    assert [fates[f"r{i}"] for i in range(4)] == ["stored"] * 4  # before the attack
    # Found after the call that wrote the files, or, as scans after calls are throttled to
    # 5 % of the time (docs/reference/formats.md), after the next one: that batch is
    # dead-lettered, no later record is stored, and the plugin is out. When the throttle's
    # window (20 times a scan's CPU time: 1-2 ms on a loaded machine) covers both remaining
    # calls, the check at the end of the run finds it: every record went through (the
    # overshoot docs/security.md admits), the run still reports the WF403.
    hit = next((i for i in (4, 8) if fates[f"r{i}"] == "WF403"), 12)
    assert [fates[f"r{i}"] for i in range(hit, min(hit + 4, 12))] == ["WF403"] * min(4, 12 - hit)
    assert all(fates[f"r{i}"] != "stored" for i in range(hit, 12)), fates
    assert doc["states"]["fill"] == "ERROR"


@pytest.fixture
def unthrottled_never(monkeypatch: pytest.MonkeyPatch) -> None:
    """After its first check, a guard's throttle lets every later call of the run go
    unchecked and the watcher thread passes it by: as when a loaded machine makes the
    window outlast the run's remaining calls (the cause of a once-flaky test above)."""
    monkeypatch.setattr(DataDirGuard, "BUDGET", 1e-12)
    monkeypatch.setattr(DataDirGuard, "watch", lambda self: None)


@pytest.mark.usefixtures("unthrottled_never")
@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_a_crossing_in_the_runs_last_calls_is_reported_by_the_run_that_made_it(
    tmp_path: Path, level: str
) -> None:
    """The files written in the throttle's window at the end of a run: WF403 all the same."""
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=12)),
            "fill": ("processor", FILLER.format(files=3, size=600_000)),
        },
        policy="max_data_mb = 1\n",
    )
    _set_level(root, level)
    doc = run(root)
    assert _codes(doc) == ["WF403"]
    assert "max_data_mb 1" in _message(doc, "WF403")
    assert doc["records"]["stored"] == 12  # no check between the calls: all went through
    assert doc["states"] == {"src": "ACTIVE", "fill": "ERROR"}
    assert doc["status"] == "partial"


@pytest.mark.usefixtures("unthrottled_never")
def test_positive_control_without_the_end_of_run_check_the_crossing_goes_unreported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same run with the end-of-run check off: "ok", though the dir holds 1.8 MB."""
    monkeypatch.setattr(DataDirGuard, "settle", lambda self: None)
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=12)),
            "fill": ("processor", FILLER.format(files=3, size=600_000)),
        },
        policy="max_data_mb = 1\n",
    )
    _set_level(root, "trusted")
    doc = run(root)
    assert doc["status"] == "ok", doc["errors"]
    assert doc["states"]["fill"] == "ACTIVE"
    data = root / ".wiseflow" / "plugins" / "fill"
    assert sum(f.stat().st_size for f in data.iterdir()) == 1_800_000


@pytest.mark.parametrize(
    ("policy", "files", "size"),
    [("max_data_files = 1000\n", 300, 1), ("max_data_mb = 10\n", 3, 600_000)],
    ids=["files", "bytes"],
)
def test_positive_control_raised_data_ceilings_let_the_files_be(
    tmp_path: Path, policy: str, files: int, size: int
) -> None:
    """With the ceiling raised, the same plugin writing the same files runs to the end."""
    root = project(
        tmp_path,
        {
            "src": ("connector", CONNECTOR.format(n=12)),
            "fill": ("processor", FILLER.format(files=files, size=size)),
        },
        policy=policy,
    )
    doc = run(root)
    assert doc["status"] == "ok", doc["errors"]
    assert doc["records"]["stored"] == 12


SLOW_FILLER = """\
import os, time
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        for i in range(100_000):  # ~100 s at this pace, far past the check
            with open(os.path.join(self.ctx.data_dir, f"f{i}"), "wb"):
                pass
            time.sleep(0.001)
        return batch
"""


def test_a_plugin_filling_its_data_dir_within_one_long_call_is_killed_mid_call(
    tmp_path: Path,
) -> None:
    """One call writing files for ~100 s is stopped within seconds, WF403 naming the ceiling."""
    root = project(
        tmp_path,
        {"src": ("connector", CONNECTOR.format(n=4)), "fill": ("processor", SLOW_FILLER)},
        policy="max_data_files = 200\n",
        resources={"fill": "timeout_s = 300"},
    )
    started = time.monotonic()
    doc = run(root)
    elapsed = time.monotonic() - started
    assert _codes(doc) == ["WF403"]
    assert "max_data_files 200" in _message(doc, "WF403")
    assert _fates(doc, 4) == dict.fromkeys(("r0", "r1", "r2", "r3"), "WF403")
    assert elapsed < 60, elapsed  # the call alone would take ~100 s; the timeout is 300 s
    written = len(os.listdir(root / ".wiseflow" / "plugins" / "fill"))
    assert written < 20_000, written


# -- self-chosen quotas ------------------------------------------------------------------------

GREEDY = """\
import resource
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def limits(self):
        return {
            "as_mb": resource.getrlimit(resource.RLIMIT_AS)[0] // (1024 * 1024),
            "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        }
"""


@pytest.mark.parametrize(
    ("policy", "operator", "expected"),
    [
        ("", "", {"as_mb": 512, "cpu": 3600, "nofile": 1024, "timeout": 600.0}),
        (
            "max_memory_mb = 300\nmax_cpu_seconds = 50\nmax_open_files = 100\nmax_timeout_s = 9\n",
            "",
            {"as_mb": 300, "cpu": 50, "nofile": 100, "timeout": 9.0},
        ),
        (
            "",
            "[plugins.greedy]\nresources.memory_mb = 200\nresources.timeout_s = 5\n",
            {"as_mb": 200, "cpu": 3600, "nofile": 1024, "timeout": 5.0},
        ),
    ],
    ids=["default-ceilings", "operator-ceilings", "per-plugin"],
)
def test_a_manifest_asking_for_huge_quotas_gets_the_ceiling(
    tmp_path: Path, policy: str, operator: str, expected: dict[str, Any]
) -> None:
    """A manifest asking 1 TiB, a week of CPU, 10^6 fds, a day per call gets the ceilings."""
    project(
        tmp_path,
        {"greedy": ("processor", GREEDY)},
        policy=policy,
        resources={
            "greedy": "memory_mb = 1048576\ncpu_seconds = 604800\n"
            "max_open_files = 1000000\ntimeout_s = 86400"
        },
    )
    (tmp_path / "wiseflow.toml").write_text((tmp_path / "wiseflow.toml").read_text() + operator)
    config = load_operator_config(tmp_path / "wiseflow.toml")
    with PluginManager(config, entry_points=False, cache=False) as pm:
        handle = pm.start("greedy", {})
        got = handle.invoke("limits")
        assert handle.timeout_s == expected["timeout"]
        assert getattr(handle.runner, "timeout_s", None) == expected["timeout"]
    hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert got == {
        "as_mb": expected["as_mb"],
        "cpu": expected["cpu"],
        "nofile": min(expected["nofile"], hard_nofile),
    }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("memory_mb = 100000000", "must be at most 1048576"),
        ("timeout_s = 1e9", "must be at most 86400"),
        ("timeout_s = inf", "finite"),
        ("cpu_seconds = nan", "finite"),
        ("memory_mb = -5", "at least 1"),
        ("timeout_s = 0", "positive"),
        ("max_open_files = 0", "at least 1"),
    ],
)
def test_plugins_check_reports_out_of_range_resources_as_wf101(
    tmp_path: Path, line: str, problem: str
) -> None:
    """`wiseflow plugins check` names the field and line of an absurd quota (was: ok)."""
    folder = tmp_path / "greedy"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "greedy"\nversion = "1.0"\nkind = "processor"\nentry = "plugin:P"\n'
        f"[plugin.resources]\n{line}\n"
    )
    (folder / "plugin.py").write_text(GREEDY)
    proc = subprocess.run(
        [sys.executable, "-m", "wiseflow", "plugins", "check", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "WF101" in out
    key = line.split(" =")[0]
    assert f"plugin.resources.{key}" in out
    assert problem in out
    assert ":7" in out or "line 7" in out, out
