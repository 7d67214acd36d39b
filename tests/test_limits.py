"""Ceilings (SPEC §11): the tightest of manifest, operator and [policy] applies; bounds hold."""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiseflow import ConfigError, ManifestError, QuotaExceeded, Record, load_manifest
from wiseflow._contract._ceilings import BOUNDS, effective_limits, range_problem
from wiseflow._contract._manifest import Resources, parse_manifest
from wiseflow._policy._datadir import DataDirGuard, measure
from wiseflow._policy._operator import OperatorConfig, Policy, load_operator_config
from wiseflow._sandbox._peek import TooManyItems, count_items, count_values
from wiseflow._sandbox._protocol import Channel, Chunk, Log, Result, pack

HEAD = '[plugin]\nname = "p"\nversion = "1.0"\nkind = "processor"\nentry = "m:P"\n'


# -- the min rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "operator", "policy", "expected"),
    [
        ({"memory_mb": 100_000}, {}, {}, 512),  # the default ceiling
        ({"memory_mb": 128}, {}, {}, 128),  # the manifest asks less
        ({"memory_mb": 4096}, {"memory_mb": 300}, {}, 300),  # the operator tightens
        ({"memory_mb": 4096}, {"memory_mb": 2048}, {"max_memory_mb": 1024}, 1024),
        ({"memory_mb": 200}, {"memory_mb": 2048}, {"max_memory_mb": 1024}, 200),
    ],
)
def test_memory_is_the_tightest_of_manifest_operator_and_ceiling(
    manifest: dict[str, int], operator: dict[str, float], policy: dict[str, int], expected: int
) -> None:
    """No party can raise another's memory limit: the smallest of the three applies."""
    limits = effective_limits(Resources(**manifest), operator, Policy(**policy))
    assert limits.memory_mb == expected


def test_every_limit_follows_the_min_rule() -> None:
    """CPU, timeout, files, data and output limits all take the tightest value."""
    res = Resources(cpu_seconds=10_000.0, timeout_s=5_000.0, max_open_files=100_000)
    limits = effective_limits(
        res,
        {"cpu_seconds": 100, "max_data_files": 50, "max_output_ratio": 1000},
        Policy(max_timeout_s=30, max_data_mb=64, max_records_per_run=7),
    )
    assert limits.cpu_seconds == 100
    assert limits.timeout_s == 30
    assert limits.max_open_files == 1024
    assert limits.max_data_mb == 64
    assert limits.max_data_files == 50
    assert limits.max_output_ratio == 100  # the operator cannot raise it above the ceiling
    assert limits.max_records_per_run == 7
    assert limits.max_output(4) == 400


def test_defaults_are_the_documented_ceilings() -> None:
    """Without a [policy] the SPEC's defaults apply; records per run are unlimited."""
    limits = effective_limits(Resources(memory_mb=10**6, cpu_seconds=10**5), {}, None)
    assert limits.to_dict() == {
        "cpu_seconds": 3600,
        "max_data_files": 10_000,
        "max_data_mb": 1024,
        "max_open_files": 256,  # the manifest's default is already below the ceiling
        "max_output_ratio": 100,
        "max_records_per_run": None,
        "memory_mb": 512,
        "timeout_s": 60,
    }


# -- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [0, -1, math.nan, math.inf, -math.inf, 1e9, True, "60", None], ids=repr
)
def test_absurd_timeouts_are_out_of_range(value: object) -> None:
    """Zero, negative, NaN, infinite, 10^9 s and non-numbers are refused for timeout_s."""
    assert range_problem("timeout_s", value) is not None


@pytest.mark.parametrize("key", sorted(BOUNDS))
def test_the_bounds_themselves_are_accepted(key: str) -> None:
    """The ends of each documented range are valid values."""
    low, high = BOUNDS[key]
    assert range_problem(key, int(high)) is None
    assert range_problem(key, max(1, int(low))) is None
    assert range_problem(key, int(high) + 1) is not None


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("memory_mb = 100000000", "at most 1048576"),
        ("memory_mb = 1.5", "whole number"),
        ("cpu_seconds = -inf", "finite"),
        ("timeout_s = nan", "finite"),
        ("timeout_s = 1e9", "at most 86400"),
        ("max_open_files = 99999999", "at most 1048576"),
    ],
)
def test_a_manifest_with_an_absurd_resource_is_wf101_with_field_and_line(
    line: str, needle: str
) -> None:
    """The problem names plugin.resources.KEY, the line, and what is allowed."""
    with pytest.raises(ManifestError) as info:
        parse_manifest(HEAD + f"[plugin.resources]\n# what it asks for\n{line}\n")
    (problem,) = info.value.problems
    assert problem.code == "WF101"
    assert problem.message.startswith(f"plugin.resources.{line.split(' =')[0]}:")
    assert needle in problem.message
    assert problem.line == 8


def test_a_sane_manifest_keeps_its_resources(tmp_path: Path) -> None:
    """Values within the bounds load unchanged (the ceilings apply later, per host)."""
    (tmp_path / "plugin.toml").write_text(
        HEAD + "[plugin.resources]\nmemory_mb = 4096\ntimeout_s = 3600\ncpu_seconds = 7200\n"
    )
    m = load_manifest(tmp_path)
    assert (m.resources.memory_mb, m.resources.timeout_s, m.resources.cpu_seconds) == (
        4096,
        3600.0,
        7200.0,
    )


@pytest.mark.parametrize(
    "policy",
    ["max_memory_mb = 0", "max_timeout_s = 1e9", "max_timeout_s = nan", "max_output_ratio = -1"],
)
def test_out_of_range_ceilings_in_wiseflow_toml_are_wf105(tmp_path: Path, policy: str) -> None:
    """An operator's absurd [policy] ceiling is refused when wiseflow.toml is read."""
    (tmp_path / "wiseflow.toml").write_text(f"[policy]\n{policy}\n")
    with pytest.raises(ConfigError) as info:
        load_operator_config(tmp_path / "wiseflow.toml")
    assert info.value.code == "WF105"
    assert policy.split(" =")[0] in info.value.message


@pytest.mark.parametrize("value", ["nan", "inf", "-3", "0", "1e12"])
def test_out_of_range_per_plugin_resources_are_wf105(tmp_path: Path, value: str) -> None:
    """[plugins.NAME] resources.timeout_s = nan (or inf, negative, 1e12) is refused."""
    (tmp_path / "wiseflow.toml").write_text(f"[plugins.p]\nresources.timeout_s = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_operator_config(tmp_path / "wiseflow.toml")
    assert "plugins.p.resources.timeout_s" in info.value.message


def test_ceilings_read_from_wiseflow_toml(tmp_path: Path) -> None:
    """[policy] max_* keys are read as documented."""
    (tmp_path / "wiseflow.toml").write_text(
        "[policy]\nmax_memory_mb = 256\nmax_output_ratio = 10\nmax_records_per_run = 500\n"
    )
    policy = load_operator_config(tmp_path / "wiseflow.toml").policy
    assert (policy.max_memory_mb, policy.max_output_ratio, policy.max_records_per_run) == (
        256,
        10,
        500,
    )
    assert OperatorConfig().policy.max_data_files == 10_000


# -- the data dir ------------------------------------------------------------------------------


def test_measure_stops_counting_at_the_limit(tmp_path: Path) -> None:
    """A dir of 300 entries is counted only to 51 when the limit is 50 (bounded cost)."""
    for i in range(300):
        (tmp_path / f"f{i}").touch()
    assert measure(str(tmp_path), 50, 1 << 40) == (51, 0)
    assert measure(str(tmp_path), 1000, 1 << 40) == (300, 0)


def test_measure_counts_nested_folders_and_real_bytes(tmp_path: Path) -> None:
    """Files in sub-folders count, and bytes are what the files occupy."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "data").write_bytes(os.urandom(300_000))
    entries, size = measure(str(tmp_path), 100, 1 << 40)
    assert entries == 3
    assert size >= 300_000


def test_the_guard_raises_wf403_naming_the_ceiling_and_ends_the_plugin(tmp_path: Path) -> None:
    """Crossing max_data_files calls on_exceeded (which ends the worker) and raises WF403."""
    ended: list[QuotaExceeded] = []
    guard = DataDirGuard("p", str(tmp_path), max_mb=1, max_files=3, on_exceeded=ended.append)
    guard.check()
    for i in range(4):
        (tmp_path / f"f{i}").touch()
    with pytest.raises(QuotaExceeded, match=r"max_data_files 3"):
        guard.check()
    assert len(ended) == 1


def test_the_guard_throttles_itself_by_the_cost_of_its_last_scan(tmp_path: Path) -> None:
    """After a scan of cost t the next one waits t / BUDGET: calls in between cost nothing."""
    guard = DataDirGuard("p", str(tmp_path), max_mb=1, max_files=10)
    guard.check()
    guard.last_cost_s = 10.0
    guard._next_at = float("inf")
    for _ in range(1000):
        guard.maybe_check()
    assert guard.scans == 1


def test_the_watcher_kills_mid_call_and_the_caller_reports_wf403(tmp_path: Path) -> None:
    """A crossing seen by the watcher kills at once; the next check raises its WF403."""
    killed: list[bool] = []
    guard = DataDirGuard(
        "p", str(tmp_path), max_mb=1, max_files=2, kill=lambda: killed.append(True)
    )
    for i in range(3):
        (tmp_path / f"f{i}").touch()
    guard.watch()
    assert killed == [True]
    assert guard.tripped is not None
    with pytest.raises(QuotaExceeded, match=r"max_data_files 2"):
        guard.maybe_check()
    assert guard.tripped is None  # reported once


# -- counting before decoding -----------------------------------------------------------------


def _body(msg: object) -> bytes:
    return msgspec.msgpack.encode(msg)


def test_count_items_reads_only_the_headers_of_results_and_chunks() -> None:
    """Result records, Result values and Chunk items are counted; other frames are not."""
    recs = [Record(id=str(i), source="s") for i in range(70_000)]
    assert count_items(_body(Result(id=1, records=recs))) == ("result", 70_000)
    assert count_items(_body(Result(id=1, value=[1, 2, 3]))) == ("result", 3)
    assert count_items(_body(Chunk(id=1, items=list(range(17))))) == ("chunk", 17)
    assert count_items(_body(Log(level=20, message="x"))) is None
    assert count_items(b"\xc1garbage") is None


def test_a_channel_refuses_a_result_over_its_limit_before_decoding() -> None:
    """The host side raises TooManyItems for 1,000 records when 400 are allowed."""
    a, b = socket.socketpair()
    with a, b:
        sender, receiver = Channel(a), Channel(b)
        receiver.max_result_items = 400
        receiver.max_chunk_items = 500
        sender.send(Result(id=1, records=[Record(id="x", source="s")] * 1000))
        sender.send(Chunk(id=2, records=[Record(id="x", source="s")] * 501))
        with pytest.raises(TooManyItems) as info:
            receiver.recv()
        assert (info.value.kind, info.value.count, info.value.limit) == ("result", 1000, 400)
        receiver.max_result_items = None
        assert isinstance(receiver.recv(), Result)  # the limit lifted, the frame decodes
        with pytest.raises(TooManyItems, match="chunk of 501 items"):
            receiver.recv()


@given(
    rid=st.integers(min_value=0, max_value=2**63 - 1),
    n=st.integers(min_value=0, max_value=70_000),
    as_value=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_count_items_agrees_with_the_decoded_result(rid: int, n: int, as_value: bool) -> None:
    """Whatever the id and count, the header read equals what decoding would produce."""
    recs = [Record(id="x", source="s")] * n
    msg = Result(id=rid, value=recs) if as_value else Result(id=rid, records=recs or None)
    body = msgspec.msgpack.encode(msg)
    assert count_items(body) == ("result", n)
    assert count_items(memoryview(body)) == ("result", n)


def _reference_count(obj: object) -> int:
    """Values as msgpack counts them: a map's keys and values each count."""
    if isinstance(obj, dict):
        return 1 + sum(_reference_count(k) + _reference_count(v) for k, v in obj.items())
    if isinstance(obj, list):
        return 1 + sum(_reference_count(v) for v in obj)
    return 1


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=300)
    | st.binary(max_size=70_000),
    lambda inner: st.lists(inner, max_size=20) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=60,
)


@given(value=_values)
@settings(max_examples=150, deadline=None)
def test_count_values_counts_every_msgpack_value(value: object) -> None:
    """The pre-decoding walk counts exactly the values the decoder would build."""
    assert count_values(msgspec.msgpack.encode(value)) == _reference_count(value)


def test_count_values_stops_at_its_limit_and_sees_into_records() -> None:
    """10 M empty maps are counted only to the limit; Records inside extensions count."""
    hostile = b"\xdd" + (10_000_000).to_bytes(4, "big") + b"\x80" * 10_000_000
    assert count_values(hostile, 1000) == 1001
    ext = pack([Record(id="x", source="s", data={"a": [1, 2, 3]})])
    assert count_values(msgspec.msgpack.encode(ext)) > 5
    assert count_values(b"\xdc\xff") == 0  # truncated: left to the decoder
