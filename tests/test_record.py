"""Records: immutable, UTC, cheap to copy and serialise."""

from __future__ import annotations

import socket
import tempfile
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from wiseflow import Checkpoint, Record
from wiseflow._contract._record import MAX_DEPTH, record_problem
from wiseflow._sandbox._protocol import Channel, Chunk, pack
from wiseflow._store import Store


def test_record_is_frozen_and_replace_copies() -> None:
    """Changing a record makes a copy; the original stays as it was."""
    r = Record(id="1", source="s", title="a")
    with pytest.raises(AttributeError):
        r.title = "b"  # type: ignore[misc]
    r2 = r.replace(title="b")
    assert (r.title, r2.title, r2.id) == ("a", "b", "1")


def test_defaults_match_spec() -> None:
    """kind defaults to "item", title/text to "", collections to empty."""
    r = Record(id="1", source="s")
    assert (r.kind, r.title, r.text, r.url, r.author, r.tags, r.data, r.annotations) == (
        "item", "", "", None, None, (), {}, {},
    )  # fmt: skip


def test_time_is_normalised_to_utc_and_naive_refused() -> None:
    """An aware time becomes UTC; a naive one is an error, not a guess."""
    t = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert Record(id="1", source="s", time=t).time == datetime(2024, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        Record(id="1", source="s", time=datetime(2024, 5, 1))  # noqa: DTZ001


def test_a_time_in_utc_is_kept_as_is_and_anything_else_still_checked() -> None:
    """A UTC datetime skips the offset arithmetic (kept, same object); a subclass of
    datetime, another UTC-like tzinfo or a naive time set around the constructor still go
    through the full check."""

    class Sub(datetime):
        pass

    t = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert Record(id="1", source="s", time=t).time is t
    sub = Sub(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert Record(id="1", source="s", time=sub).time == t
    zero = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(0), "Z0"))
    assert Record(id="1", source="s", time=zero).time == t
    with pytest.raises(ValueError, match="timezone-aware"):
        Record(id="1", source="s", time=Sub(2024, 5, 1))  # noqa: DTZ001
    r = Record(id="1", source="s")
    msgspec.structs.force_setattr(r, "time", datetime(2024, 5, 1))  # noqa: DTZ001
    assert "timezone-aware" in (record_problem(r) or "")


def test_annotate_adds_without_touching_the_original() -> None:
    """annotate() returns a copy with one more annotation."""
    r = Record(id="1", source="s")
    r2 = r.annotate("text", {"lang": "en"})
    assert r.annotations == {} and r2.annotations == {"text": {"lang": "en"}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    id_=st.text(min_size=1, max_size=30),
    title=st.text(max_size=50),
    tags=st.lists(st.text(max_size=10), max_size=5).map(tuple),
    data=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    when=st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_records_round_trip_through_msgpack_and_json(
    id_: str, title: str, tags: tuple[str, ...], data: dict[str, object], when: datetime | None
) -> None:
    """Any record survives the wire formats unchanged."""
    r = Record(id=id_, source="src", title=title, tags=tags, data=data, time=when)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(r), type=Record) == r
    assert msgspec.json.decode(msgspec.json.encode(r), type=Record) == r


def test_checkpoint_holds_state() -> None:
    """A checkpoint is a frozen holder of connector state."""
    assert Checkpoint(state={"n": 1}).state == {"n": 1}


# -- the contract, checked where a record is made ---------------------------------------------

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)
FIELDS = ["id", "source", "kind", "time", "title", "text", "url", "author", "tags", "data"]


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"id": 1}, TypeError, "Record.id: expected a str, got int 1"),
        ({"id": ""}, ValueError, "Record.id: must not be empty"),
        ({"id": None}, TypeError, "Record.id: expected a str, got NoneType None"),
        ({"source": b"s"}, TypeError, "Record.source: expected a str, got bytes b's'"),
        ({"source": ""}, ValueError, "Record.source: must not be empty"),
        ({"kind": None}, TypeError, "Record.kind: expected a str"),
        ({"title": 3.5}, TypeError, "Record.title: expected a str, got float 3.5"),
        ({"text": ["a"]}, TypeError, "Record.text: expected a str, got list ['a']"),
        ({"url": 7}, TypeError, "Record.url: expected a str or None, got int 7"),
        ({"author": {"n": 1}}, TypeError, "Record.author: expected a str or None"),
        ({"tags": "abc"}, TypeError, "Record.tags: expected a tuple or list of str, got str 'abc'"),
        ({"tags": {"a"}}, TypeError, "Record.tags: expected a tuple or list of str, got set"),
        ({"tags": ("a", 2)}, TypeError, "Record.tags[1]: expected a str, got int 2"),
        ({"tags": ["a", None]}, TypeError, "Record.tags[1]: expected a str, got NoneType"),
        ({"data": []}, TypeError, "Record.data: expected a dict with str keys, got list []"),
        ({"data": {1: "x"}}, TypeError, "Record.data: keys must be str, got int 1"),
        ({"data": {"a": {"b": [1, b"x"]}}}, TypeError, "Record.data['a']['b'][1]: expected"),
        ({"data": {"t": (1, 2)}}, TypeError, "Record.data['t']: expected JSON (None, bool, int"),
        ({"data": {"s": {1}}}, TypeError, "got set {1} (use a list)"),
        ({"data": {"when": T0}}, TypeError, "Record.data['when']: expected JSON"),
        ({"data": {"r": Record(id="1", source="s")}}, TypeError, "got Record"),
        ({"data": {"x": float("nan")}}, ValueError, "Record.data['x']: expected a finite float"),
        ({"data": {"x": [float("-inf")]}}, ValueError, "Record.data['x'][0]: expected a finite"),
        ({"data": {"n": 2**64}}, ValueError, "Record.data['n']: integer 18446744073709551616 is"),
        ({"data": {"n": -(2**63) - 1}}, ValueError, "outside the 64-bit range"),
        ({"annotations": None}, TypeError, "Record.annotations: expected a dict with str keys"),
        ({"annotations": {"p": {"k": object()}}}, TypeError, "Record.annotations['p']['k']"),
        ({"time": "2024-05-01"}, TypeError, "Record.time: expected a timezone-aware datetime"),
        ({"time": datetime(2024, 5, 1)}, ValueError, "Record.time: must be timezone-aware"),  # noqa: DTZ001
    ],
)
def test_constructor_refuses_each_field_naming_it(
    fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    """A field breaking the contract raises TypeError/ValueError that names the field and value."""
    with pytest.raises(error) as info:
        Record(**{"id": "1", "source": "s", **fields})
    assert message in str(info.value)


def test_a_cycle_or_a_deep_tree_in_data_is_refused_not_a_hang() -> None:
    """Data nested past MAX_DEPTH (a cycle included) is a ValueError, not a RecursionError."""
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match=r"Record.data\['self'\]\['self'\].*nested deeper"):
        Record(id="1", source="s", data=loop)
    deep: list[Any] = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper than"):
        Record(id="1", source="s", annotations={"x": deep})


def test_valid_records_of_every_shape_construct() -> None:
    """Lists and tuples for tags, nested JSON, bounds of int, None and aware times all construct."""
    data = {
        "n": 2**64 - 1, "m": -(2**63), "f": 1.5, "b": False, "none": None, "s": "x",
        "list": [1, "a", None, [True, {"k": [0.0]}]], "dict": {"a": {"b": {"c": []}}},
    }  # fmt: skip
    r = Record(
        id="x", source="s", kind="k", time=T0, title="t", text="", url=None, author="a",
        tags=["a", "b"], data=data, annotations={"p": {"lang": "en"}},
    )  # fmt: skip
    assert r.tags == ("a", "b") and type(r.tags) is tuple  # a list is kept as a tuple
    assert r.data == data
    assert Record(id="x", source="s", tags=("a",)).tags == ("a",)
    assert Record(id="x", source="s", data=OrderedDict(a=1)).data == {"a": 1}  # dict subclass
    assert Record(id=" ", source="s", url="u").url == "u"  # only the empty id is refused


def test_replace_and_annotate_check_what_they_change() -> None:
    """replace(), annotate() and msgspec.structs.replace() refuse what the constructor refuses."""
    r = Record(id="1", source="s", time=T0)
    with pytest.raises(TypeError, match=r"Record.tags: expected a tuple or list of str"):
        r.replace(tags="abc")
    with pytest.raises(TypeError, match=r"Record.tags: expected a tuple or list of str"):
        msgspec.structs.replace(r, tags="abc")
    with pytest.raises(ValueError, match="Record.id: must not be empty"):
        r.replace(id="")
    with pytest.raises(TypeError, match="Record has no field 'nope'"):
        r.replace(nope=1)
    with pytest.raises(TypeError, match=r"Record.annotations\['k'\]\[0\]: expected JSON"):
        r.annotate("k", [b"x"])
    with pytest.raises(TypeError, match="Record.annotations: keys must be str"):
        r.annotate(1, "x")  # type: ignore[arg-type]
    plus2 = timezone(timedelta(hours=2))
    moved = r.replace(time=datetime(2024, 5, 1, 14, tzinfo=plus2), tags=["x"])
    assert moved.time == T0 and moved.time.tzinfo is UTC and moved.tags == ("x",)
    assert r.annotate("k", {"v": [1]}).annotations == {"k": {"v": [1]}}


def test_record_problem_names_what_was_changed_around_the_constructor() -> None:
    """record_problem() finds fields set with force_setattr and data changed in place."""
    good = Record(id="1", source="s")
    assert record_problem(good) is None
    forced = Record(id="1", source="s")
    msgspec.structs.force_setattr(forced, "id", 1)
    assert record_problem(forced) == "Record.id: expected a str, got int 1"
    changed = Record(id="1", source="s")
    changed.data["when"] = T0
    assert (record_problem(changed) or "").startswith("Record.data['when']: expected JSON")
    assert record_problem({"id": "1"}) == "expected a Record, got dict {'id': '1'}"


# -- any record the constructor accepts crosses the wire and the store unchanged ---------------

anything = st.deferred(
    lambda: st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.binary(max_size=4) | st.datetimes() | st.lists(anything, max_size=3)
    | st.tuples(anything)
    | st.dictionaries(st.text(max_size=5) | st.integers(), anything, max_size=3)
)  # fmt: skip
wide_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=10)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
valid_fields = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=20),
        "source": st.just("src"),
        "time": st.none() | st.datetimes(timezones=st.timezones()),
        "title": st.text(max_size=20),
        "url": st.none() | st.text(max_size=20),
        "tags": st.lists(st.text(max_size=8), max_size=4) | st.lists(st.text()).map(tuple),
        "data": st.dictionaries(st.text(max_size=8), wide_json, max_size=4),
        "annotations": st.dictionaries(st.text(max_size=8), wide_json, max_size=2),
    }
)


@settings(max_examples=200, deadline=None)
@given(fields=valid_fields, broken=st.none() | st.tuples(st.sampled_from(FIELDS), anything))
def test_any_record_the_constructor_accepts_round_trips_wire_and_store(
    fields: dict[str, Any], broken: tuple[str, Any] | None
) -> None:
    """Accepted ⇒ the same record back from the worker channel (both paths) and the store."""
    if broken is not None:  # one field replaced by anything at all: accepted only if valid
        fields[broken[0]] = broken[1]
    try:
        r = Record(**fields)
    except (TypeError, ValueError):
        event("refused")
        return  # refused where it was made: nothing to carry
    event("accepted")
    a, b = socket.socketpair()
    try:
        sender, receiver = Channel(a), Channel(b)
        for msg in (Chunk(id=1, records=[r]), Chunk(id=1, items=pack([r]))):
            receiver.feed(bytes(sender.encode(msg)))
            got = receiver.pop()
            assert isinstance(got, Chunk)
            assert (got.records or got.items) == [r]
    finally:
        a.close()
        b.close()
    with tempfile.TemporaryDirectory() as tmp, Store.open(tmp) as store:
        assert store.write_batch("src", [r], None, None) == (1, 0)
        assert list(store.records()) == [r]


def test_only_the_decoding_thread_is_exempt_from_checks() -> None:
    """While one thread decodes a peer's records (already_checked), a record made in
    another thread is still checked in full; after the decode, the decoder's own thread is
    checked in full again."""
    import threading

    from wiseflow._contract._record import already_checked

    inside, done = threading.Event(), threading.Event()
    seen: list[str] = []

    def decoder() -> None:
        with already_checked(by_peer=True):
            # exempt here: a bad field passes (what a checked peer sent is not re-checked)
            seen.append(type(Record(id="1", source="s", title=5)).__name__)  # type: ignore[arg-type]
            inside.set()
            assert done.wait(30)
        with pytest.raises(TypeError, match="Record.title"):
            Record(id="1", source="s", title=5)  # type: ignore[arg-type]
        seen.append("checked after")

    t = threading.Thread(target=decoder)
    t.start()
    try:
        assert inside.wait(30)
        with pytest.raises(TypeError, match="Record.title"):
            Record(id="1", source="s", title=5)  # type: ignore[arg-type]
    finally:
        done.set()
        t.join(30)
    assert seen == ["Record", "checked after"]
