"""The wire format between host and worker: frames, records, errors, and what is refused."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiseflow import (
    Checkpoint,
    PermissionDenied,
    PluginError,
    ProtocolViolation,
    QuotaExceeded,
    Record,
    SkipRecord,
    TransientError,
)
from wiseflow._contract._errors import error_from_dict
from wiseflow._contract._record import refused
from wiseflow._sandbox._protocol import (
    Call,
    CapRequest,
    Channel,
    Chunk,
    Fail,
    Result,
    error_dict,
    pack,
    records_only,
)

json_scalar = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
records = st.builds(
    Record,
    id=st.text(min_size=1, max_size=30),
    source=st.text(min_size=1, max_size=20),
    kind=st.sampled_from(["item", "commit", "article"]),
    time=st.none() | st.datetimes(timezones=st.just(UTC)),
    title=st.text(max_size=50),
    text=st.text(max_size=200),
    url=st.none() | st.text(max_size=40),
    author=st.none() | st.text(max_size=20),
    tags=st.lists(st.text(max_size=10), max_size=4).map(tuple),
    data=st.dictionaries(st.text(max_size=8), json_value, max_size=4),
    annotations=st.dictionaries(st.text(max_size=8), json_value, max_size=3),
)


def _pair() -> tuple[Channel, Channel]:
    a, b = socket.socketpair()
    return Channel(a), Channel(b)


@pytest.fixture
def pair() -> Iterator[tuple[Channel, Channel]]:
    tx, rx = _pair()
    yield tx, rx
    tx.sock.close()
    rx.sock.close()


def _through(msg: object) -> object:
    """Encode ``msg`` and decode it again, feeding the frame one byte at a time."""
    tx, rx = _pair()
    try:
        frame = bytes(tx.encode(msg))  # type: ignore[arg-type]
        for i in range(len(frame)):
            assert not rx.has_frame()
            rx.feed(frame[i : i + 1])
        assert rx.has_frame()
        return rx.pop()
    finally:
        tx.sock.close()
        rx.sock.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(records, max_size=20))
def test_record_batches_round_trip_exactly(batch: list[Record]) -> None:
    """Any batch of Records crosses the wire unchanged, as typed Records."""
    out = _through(Call(id=1, method="process", args=[], batch=batch))
    assert isinstance(out, Call)
    assert out.batch == batch
    assert all(type(r) is Record for r in out.batch or [])


@settings(max_examples=40, deadline=None)
@given(json_value, st.lists(records, max_size=3))
def test_nested_records_keep_their_type(value: object, recs: list[Record]) -> None:
    """Records and Checkpoints anywhere inside a free-form value come back typed."""
    payload = {"v": value, "recs": recs, "cp": Checkpoint(state={"n": 1})}
    out = _through(Result(id=3, value=pack(payload)))
    assert isinstance(out, Result)
    assert out.value == payload


def test_record_time_stays_utc() -> None:
    """A Record's time survives as a timezone-aware UTC datetime."""
    t = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    out = _through(Chunk(id=1, records=[Record(id="1", source="s", time=t)]))
    assert isinstance(out, Chunk)
    assert out.records is not None
    assert out.records[0].time == t


def test_records_only_spots_homogeneous_batches() -> None:
    """The fast typed path is taken only for non-empty lists of Records."""
    r = Record(id="1", source="s")
    assert records_only([r, r]) == [r, r]
    assert records_only([]) is None
    assert records_only([r, {"x": 1}]) is None
    assert records_only((r,)) is None


def test_oversized_announcement_is_refused_before_reading(
    pair: tuple[Channel, Channel],
) -> None:
    """A length prefix above the maximum is a ProtocolViolation at once."""
    _, rx = pair
    rx.max_frame = 1024
    rx.feed(struct.pack(">I", 1025))
    with pytest.raises(ProtocolViolation):
        rx.has_frame()


def test_malformed_and_unknown_frames_are_violations(pair: tuple[Channel, Channel]) -> None:
    """Bytes that are not a known message (including pickle) are WF406."""
    _, rx = pair
    for body in (b"\xc1", msgspec.msgpack.encode(["nope", 1]), b"\x80\x04\x95" + b"x" * 10):
        rx.feed(struct.pack(">I", len(body)) + body)
        assert rx.has_frame()
        with pytest.raises(ProtocolViolation) as info:
            rx.pop()
        assert info.value.code == "WF406"
        rx.clear_input()


def test_unknown_extension_is_a_violation(pair: tuple[Channel, Channel]) -> None:
    """Only the Record and Checkpoint extensions are accepted."""
    _, rx = pair
    body = msgspec.msgpack.encode(["result", 1, msgspec.msgpack.Ext(9, b"\x00"), None])
    rx.feed(struct.pack(">I", len(body)) + body)
    with pytest.raises(ProtocolViolation):
        rx.pop()


def test_send_refuses_frames_over_the_maximum(pair: tuple[Channel, Channel]) -> None:
    """A side never sends what the other side would refuse."""
    tx, _ = pair
    tx.max_frame = 100
    with pytest.raises(ProtocolViolation):
        tx.send(Result(id=1, value="x" * 200))


def test_post_never_blocks_on_a_peer_that_does_not_read(pair: tuple[Channel, Channel]) -> None:
    """The host's writer keeps what a full socket does not take and never waits for it."""
    tx, _ = pair
    for i in range(200):  # ~4 MB: far more than the socket buffers
        tx.post(Result(id=i, value="x" * 20_000))
    assert tx.backlog > 1_000_000
    assert tx.flush() is False


def test_backlog_arrives_whole_and_in_order(pair: tuple[Channel, Channel]) -> None:
    """Frames posted while a backlog waits are delivered after it, none lost or torn."""
    tx, rx = pair
    for i in range(100):
        tx.post(Result(id=i, value="y" * 30_000))
    got = []
    while True:
        tx.flush()
        while rx.has_frame():
            got.append(rx.pop())
        if len(got) == 100:
            break
        rx.recv_some()
    assert [m.id for m in got] == list(range(100))  # type: ignore[union-attr]
    assert tx.flush() is True and tx.backlog == 0


def test_frames_of_any_size_arrive_whole_and_in_order(pair: tuple[Channel, Channel]) -> None:
    """Frames smaller and larger than the receive buffer, straddling its end, all decode."""
    tx, rx = pair
    sizes = [10, 200_000, 3, 700_000, 90_000, 1, 300_000, 5, 40]  # the buffer is 256 KiB
    for i, size in enumerate(sizes):
        tx.post(Result(id=i, value="v" * size))
    got = []
    while len(got) < len(sizes):
        tx.flush()
        msg = rx.take()
        if msg is None:
            assert rx.recv_some()
            continue
        got.append(msg)
    assert [(m.id, len(m.value)) for m in got] == list(enumerate(sizes))  # type: ignore[union-attr]
    assert rx.take() is None


def test_a_frame_fed_in_pieces_grows_the_buffer_only_as_it_arrives() -> None:
    """A frame longer than the receive buffer decodes once whole; a partial one waits."""
    tx, rx = _pair()
    try:
        frame = bytes(tx.encode(Result(id=7, value="w" * 600_000)))
        for i in range(0, len(frame), 100_000):
            assert rx.take() is None
            rx.feed(frame[i : i + 100_000])
        got = rx.take()
        assert isinstance(got, Result) and got.id == 7 and got.value == "w" * 600_000
        assert rx.take() is None
    finally:
        tx.sock.close()
        rx.sock.close()


def test_post_to_a_closed_peer_raises(pair: tuple[Channel, Channel]) -> None:
    """Writing to a peer that is gone is an OSError (EPIPE), never a SIGPIPE or a hang."""
    tx, rx = pair
    rx.sock.close()
    with pytest.raises(OSError):
        tx.post(Result(id=1, value="z"))


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (SkipRecord("r-1", "bad date"), "WF408"),
        (TransientError("429", retry_after=2.5), "WF407"),
        (PermissionDenied("no", permission="env"), "WF301"),
        (MemoryError(), "WF403"),
        (ValueError("boom"), "WF400"),
    ],
)
def test_errors_cross_as_dicts_and_keep_their_details(exc: BaseException, code: str) -> None:
    """Errors are rebuilt from plain dicts (never unpickled), details included."""
    data = error_dict(exc, "p", memory_mb=64)
    out = _through(Result(id=1, value=data))
    assert isinstance(out, Result)
    err = error_from_dict(out.value)
    assert err.code == code
    if not isinstance(exc, SkipRecord):  # error_from_dict drops a SkipRecord's plugin
        assert err.plugin == "p"
    if isinstance(exc, SkipRecord):
        assert isinstance(err, SkipRecord)
        assert (err.record_id, err.reason) == ("r-1", "bad date")
    if isinstance(exc, TransientError):
        assert err.retry_after == 2.5  # type: ignore[attr-defined]
    if isinstance(exc, PermissionDenied):
        assert err.permission == "env"  # type: ignore[attr-defined]
    if isinstance(exc, MemoryError):
        assert isinstance(err, QuotaExceeded)
        assert "64 MB" in err.message
    if isinstance(exc, ValueError):
        assert isinstance(err, PluginError)
        assert "ValueError: boom" in err.message
        assert "traceback" in out.value


def test_figures_cross_the_wire() -> None:
    """An analyzer's render() figures come back as Figures."""
    from wiseflow import Figure

    out = _through(Result(id=1, value=pack([Figure("CVEs", "<svg/>"), "text"])))
    assert isinstance(out, Result)
    fig, text = out.value
    assert isinstance(fig, Figure)
    assert (fig.title, fig.body, text) == ("CVEs", "<svg/>", "text")


def test_refused_items_cross_the_wire_as_skip_records() -> None:
    """A SkipRecord a connector yields (not raises) arrives as one, id and reason intact."""
    from wiseflow import Checkpoint, SkipRecord

    refused = SkipRecord("https://x/1", "has no 'number' or 'id'")
    out = _through(Result(id=1, value=pack([refused, Checkpoint(state={"a": 1})])))
    assert isinstance(out, Result)
    skip, checkpoint = out.value
    assert isinstance(skip, SkipRecord) and isinstance(checkpoint, Checkpoint)
    assert (skip.record_id, skip.reason, skip.code) == (
        "https://x/1",
        "has no 'number' or 'id'",
        "WF408",
    )


# -- a record breaking the contract: refused alone, the frame and the stream go on --------------

GOOD = Record(id="g", source="s")
BAD_TAGS = {"id": "x", "source": "s", "tags": "abc"}
TAGS_REASON = "Record.tags: expected a tuple or list of str, got str 'abc'"


def _refusal(item: object, record_id: str, reason: str) -> None:
    assert isinstance(item, SkipRecord)
    assert (item.code, item.record_id, item.reason) == ("WF406", record_id, reason)


def test_a_bad_record_in_a_chunk_becomes_its_refusal_between_the_good_ones(
    pair: tuple[Channel, Channel],
) -> None:
    """records=[good, bad, good] decodes to [good, WF406 refusal naming the field, good]."""
    tx, rx = pair
    rx.feed(bytes(tx.encode(Chunk(id=3, records=[GOOD, BAD_TAGS, GOOD]))))  # type: ignore[list-item]
    got = rx.pop()
    assert isinstance(got, Chunk) and got.id == 3 and got.records is None
    assert got.items is not None and got.items[0] == GOOD and got.items[2] == GOOD
    _refusal(got.items[1], "x", TAGS_REASON)


def test_a_bad_record_among_items_and_a_non_record_are_refused_alone(
    pair: tuple[Channel, Channel],
) -> None:
    """The items path (records as extensions) refuses the same way; a non-record in records too."""
    tx, rx = pair
    bad = msgspec.msgpack.Ext(1, msgspec.msgpack.encode({"id": 7, "source": "s"}))
    rx.feed(bytes(tx.encode(Chunk(id=1, items=[*pack([GOOD, Checkpoint()]), bad]))))
    got = rx.pop()
    assert isinstance(got, Chunk) and got.items is not None
    assert got.items[:2] == [GOOD, Checkpoint()]
    _refusal(got.items[2], "7", "Record.id: expected a str, got int 7")
    rx.feed(bytes(tx.encode(Chunk(id=1, records=[5]))))  # type: ignore[list-item]
    got = rx.pop()
    assert isinstance(got, Chunk) and got.items is not None
    _refusal(got.items[0], "", "expected a Record, got 5")


def test_a_result_holding_a_bad_record_is_a_failure_naming_the_field(
    pair: tuple[Channel, Channel],
) -> None:
    """A Result with a bad record becomes a Fail (WF400, bisected), not a protocol violation."""
    tx, rx = pair
    rx.feed(bytes(tx.encode(Result(id=9, records=[GOOD, BAD_TAGS]))))  # type: ignore[list-item]
    got = rx.pop()
    assert isinstance(got, Fail) and got.id == 9
    err = error_from_dict(got.error)
    assert err.code == "WF400"
    assert err.message == f"a returned record breaks the record contract: {TAGS_REASON}"


def test_a_frame_wrong_elsewhere_is_still_a_violation(pair: tuple[Channel, Channel]) -> None:
    """Only records are salvaged: a chunk whose id is not an int stays WF406."""
    tx, rx = pair
    frame = msgspec.msgpack.encode(["chunk", "one", [BAD_TAGS], None])
    rx.feed(struct.pack(">I", len(frame)) + frame)
    with pytest.raises(ProtocolViolation, match="malformed frame"):
        rx.pop()


def test_a_refusal_made_by_the_worker_crosses_as_a_refusal() -> None:
    """A record the worker could not encode arrives as the host's own WF406 refusal."""
    got = _through(Chunk(id=1, items=pack([refused("x", "Record.data['k']: no")])))
    assert isinstance(got, Chunk) and got.items is not None
    _refusal(got.items[0], "x", "Record.data['k']: no")


def _cap(op: str, args: list[object]) -> CapRequest:
    return CapRequest(id=1, op=op, args=args)


def test_capability_requests_decode_into_typed_requests() -> None:
    """Each capability request is decoded into its typed form, every field checked."""
    from wiseflow._sandbox._capabilities import (
        CallPlugin,
        CheckRead,
        HttpRequest,
        SecretRequest,
        parse,
    )

    http = parse(_cap("http", ["GET", "https://x.org/", {"A": "b"}, None, 2]))
    assert http == HttpRequest("GET", "https://x.org/", {"A": "b"}, None, 2.0)
    assert parse(_cap("secret", ["TOKEN"])) == SecretRequest("TOKEN")
    assert parse(_cap("check_read", ["/data/x"])) == CheckRead("/data/x")
    assert parse(_cap("call_plugin", ["dep", "process", [[]]])) == CallPlugin(
        "dep", "process", [[]]
    )


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("http", ["GET", "https://x.org/", {"A": 1}, None, None]),  # header value not a str
        ("http", ["GET", "https://x.org/", {}, "body", None]),  # body not bytes
        ("http", ["GET", "https://x.org/", {}, None, None, "extra"]),  # one argument too many
        ("http", ["GET"]),  # too few
        ("secret", [{"not": "a name"}]),
        ("check_read", [7]),
        ("call_plugin", ["dep", "process", "not a list"]),
        ("exec", ["/bin/sh"]),  # no such capability
        ("secret", "not a list"),
    ],
)
def test_malformed_capability_requests_are_refused(op: str, args: object) -> None:
    """A request whose arguments do not decode into their typed form is Malformed, naming
    the capability (the runner stops the worker with WF406)."""
    from wiseflow._sandbox._capabilities import Malformed, parse

    with pytest.raises(Malformed, match=f"a malformed '{op}' capability request"):
        parse(_cap(op, args))  # type: ignore[arg-type]


def test_a_workers_list_of_non_idempotent_methods_is_bounded() -> None:
    """The worker's Loaded names the methods never to retry: up to 256 names of up to 200
    characters; more is not a valid message (the host ends such a worker, WF406)."""
    from wiseflow._sandbox._messages import Loaded, Message

    decode = msgspec.msgpack.Decoder(Message).decode
    ok = decode(msgspec.msgpack.encode(Loaded(schema=None, non_idempotent=["process"] * 256)))
    assert isinstance(ok, Loaded) and ok.non_idempotent == ["process"] * 256
    for names in (["process"] * 257, ["x" * 201]):
        with pytest.raises(msgspec.ValidationError):
            decode(msgspec.msgpack.encode(Loaded(schema=None, non_idempotent=names)))
