"""Original-API dicts to records and back, as LEGACY-API.md ("Data") describes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from wiseflow import Record
from wiseflow._contract._legacy._mapping import from_legacy, to_legacy

#: Keys a legacy dict uses for a record's own fields (they never land in data).
_FIELDS = {"id", "title", "content", "text", "url", "author", "published", "date", "time"}


def test_fields_map_as_documented() -> None:
    """id, title, content/text, url, author and published become the record's fields;
    everything else goes into data (times in data written as ISO 8601)."""
    when = datetime(2024, 5, 1, 12, 0)
    r = from_legacy(
        {"id": 7, "title": "T", "content": "body", "text": "ignored", "url": "https://x/7",
         "author": "ann", "published": "2024-05-01T12:00:00Z", "views": 3, "seen": when},
        source="src",
    )  # fmt: skip
    assert isinstance(r, Record)
    assert (r.id, r.source, r.title, r.text, r.url, r.author) == (
        "7", "src", "T", "body", "https://x/7", "ann",
    )  # fmt: skip
    assert r.time == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert r.data == {"views": 3, "seen": "2024-05-01T12:00:00"}


def test_the_id_falls_back_to_the_url_then_a_stable_content_hash() -> None:
    """No id: the url; neither: a hash of the content, the same for the same item."""
    by_url = from_legacy({"url": "https://x/1", "text": "t"}, source="s")
    assert isinstance(by_url, Record) and by_url.id == "https://x/1" and by_url.text == "t"
    a = from_legacy({"title": "same", "n": 1}, source="s")
    b = from_legacy({"n": 1, "title": "same"}, source="s")
    c = from_legacy({"title": "other", "n": 1}, source="s")
    assert isinstance(a, Record) and isinstance(b, Record) and isinstance(c, Record)
    assert a.id == b.id != c.id and a.id.startswith("sha256:")


def test_times_are_read_in_the_usual_spellings() -> None:
    """ISO 8601, RFC 2822, POSIX timestamps and naive datetimes (taken as UTC); a value
    that is no time stays in data."""
    expected = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    for value in ("2024-01-02T03:04:05Z", "Tue, 02 Jan 2024 03:04:05 +0000",
                  expected.timestamp(), datetime(2024, 1, 2, 3, 4, 5)):  # fmt: skip
        r = from_legacy({"id": "x", "date": value}, source="s")
        assert isinstance(r, Record) and r.time == expected, value
    kept = from_legacy({"id": "x", "time": "soon"}, source="s")
    assert isinstance(kept, Record) and kept.time is None and kept.data == {"time": "soon"}


def test_what_breaks_the_record_contract_is_refused_not_mended() -> None:
    """Wrong types are refused with a message naming the field."""
    assert "expected a dict" in str(from_legacy(["x"], source="s"))
    assert "Record.title" in str(from_legacy({"id": "x", "title": 3}, source="s"))
    assert "keys must be str" in str(from_legacy({"id": "x", 2: "y"}, source="s"))


def test_a_processor_round_trip_keeps_source_kind_tags_and_annotations() -> None:
    """A record handed to a legacy processor and back keeps what the processor did not
    change; a `source` it writes cannot move the record to another source."""
    rec = Record(
        id="1", source="feed", kind="article", title="t", text="x", tags=("a",),
        time=datetime(2024, 1, 1, tzinfo=UTC), data={"k": 1}, annotations={"p": True},
    )  # fmt: skip
    item = to_legacy(rec)
    assert item["content"] == "x" and item["published"] == "2024-01-01T00:00:00+00:00"
    back = from_legacy({**item, "source": "elsewhere"}, source="ignored", base=rec)
    assert back == rec


@given(
    st.dictionaries(
        st.text(min_size=1).filter(lambda k: k not in {"source", "kind", "tags", "annotations"}),
        st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.text()),
        max_size=5,
    ),
    st.text(min_size=1),
    st.text(),
)
def test_records_survive_a_round_trip_through_legacy_dicts(
    data: dict[str, object], rid: str, text: str
) -> None:
    """Any record with JSON data comes back equal from its legacy dict (unchanged)."""
    data = {k: v for k, v in data.items() if k not in _FIELDS}
    rec = Record(id=rid, source="s", text=text, data=data)
    assert from_legacy(to_legacy(rec), source="s", base=rec) == rec
