"""Records: immutable, UTC, cheap to copy and serialise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiseflow import Checkpoint, Record


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
