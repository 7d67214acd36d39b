"""The collector's bounds: history, events, text, and the operators' requests it takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wiseflow._host._metering import Collector
from wiseflow._host._metering._collector import (
    HISTORY_POINTS,
    MAX_EVENTS,
    MAX_REQUESTS,
    TEXT_CHARS,
    control_dir,
    post_request,
)


def _plugin(calls: int) -> dict[str, Any]:
    return {"name": "p", "plugin": "p", "calls": calls, "records_out": calls,
            "resources": {"cpu_s": calls / 10, "memory_mb": 5.0}}  # fmt: skip


def test_history_stays_bounded_and_spans_the_whole_run() -> None:
    """1000 ticks keep fewer than HISTORY_POINTS points, the first one among them."""
    ticks = iter(range(1, 10_000))
    c = Collector(lambda: [_plugin(next(ticks))])
    for _ in range(1000):
        c.snapshot()
    hist = c.snapshot()["plugins"][0]["history"]
    assert len(hist) < HISTORY_POINTS
    assert hist[0][5] == 1  # calls of the first tick
    assert [p[5] for p in hist] == sorted(p[5] for p in hist)


def test_events_and_texts_are_bounded() -> None:
    """The timeline keeps the latest MAX_EVENTS; a long reason or name is cut."""
    c = Collector(lambda: [{**_plugin(1), "name": "n" * 10_000}])
    for i in range(MAX_EVENTS + 50):
        c.note("x", "p", "r" * (TEXT_CHARS * 3) if i == MAX_EVENTS + 49 else str(i))
    doc = c.snapshot()
    assert len(doc["events"]) == MAX_EVENTS and doc["events"][0]["reason"] == "50"
    assert len(doc["events"][-1]["reason"]) == TEXT_CHARS
    assert len(doc["plugins"][0]["name"]) == 200


def test_requests_are_checked_bounded_and_applied(tmp_path: Path) -> None:
    """Well-formed requests reach `control`; malformed, unknown and oversized ones are
    dropped with an event; at most MAX_REQUESTS are taken per tick."""
    applied: list[tuple[str, str]] = []

    def control(action: str, instance: str) -> str:
        applied.append((action, instance))
        return "done"

    c = Collector(list, control=control)
    folder = control_dir(tmp_path, 4242)
    folder.mkdir()
    post_request(tmp_path, 4242, "disable", "upper")
    (folder / "a-bad.json").write_text("{not json")
    (folder / "b-verb.json").write_text(json.dumps({"action": "rm -rf", "instance": "x"}))
    (folder / "c-big.json").write_text(json.dumps({"action": "enable", "instance": "x" * 9000}))
    assert c.take_requests(folder) == 4
    assert applied == [("disable", "upper")]
    events = [e["event"] for e in c.snapshot()["events"]]
    assert events.count("request-refused") == 3 and "request-disable" in events
    for i in range(MAX_REQUESTS + 5):
        post_request(tmp_path, 4242, "enable", f"p{i}")
    assert c.take_requests(folder) == MAX_REQUESTS
    assert c.take_requests(folder) == 5
    assert list(folder.iterdir()) == []
