"""Floods the host writes itself: what the host logs on a plugin's behalf is bounded.

A plugin with no permissions asks, thousands of times, to read a path of 64 KiB; another
logs 64 KiB messages through ``ctx.log`` as fast as it can. Without limits the host wrote
every denial in full to wiseflow.log and to stderr (~150 MB each for 3 s of denials). Now
each line is cut, a per-plugin rate limit drops the excess and counts it, the count is in
the run document (``plugins.NAME.log_dropped``) and in one summary log line.

The bounds asserted hold whatever the machine's speed: at most one line per request, each
line cut, so the bytes written are bounded by the count of requests, not by their size.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from cli_kit import document, log_lines, project, wf

from wiseflow._policy._ratelimit import MAX_LINE, LogLimiter

REQUESTS = 3000
HUGE = 65536

FLOODER = f"""\
from wiseflow import ProcessorPlugin, PermissionDenied

class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.ctx = ctx

    def process(self, batch):
        denied, longest = 0, 0
        for i in range({REQUESTS}):
            try:
                self.ctx.read_path("/" + "x" * {HUGE})
            except PermissionDenied as exc:
                denied += 1
                longest = max(longest, len(str(exc)))
            self.ctx.log.warning("chatter %d %s", i, "y" * {HUGE})
        return [r.replace(annotations={{"denied": denied, "longest": longest}}) for r in batch]
"""

SOURCE = """\
from wiseflow import ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        yield Record(id="only", source=self.ctx.name)
"""

PIPE = """\
[pipeline]
name = "flood"
[[sources]]
plugin = "innocent"
[[processors]]
plugin = "flooder"
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_a_flood_of_denials_and_log_calls_writes_a_bounded_log(tmp_path: Path, level: str) -> None:
    """6000 lines of 64 KiB asked for: every line cut, the excess dropped and counted."""
    root = project(
        tmp_path,
        {"innocent": ("connector", SOURCE), "flooder": ("processor", FLOODER)},
        PIPE,
        level=level,
        manifest_extra={"flooder": "[plugin.resources]\ntimeout_s = 300\n"},
    )
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = document(res)
    assert doc["records"]["stored"] == 1
    db = sqlite3.connect(root / ".wiseflow" / "wiseflow.db")
    (ann,) = [json.loads(a) for (a,) in db.execute("select annotations from records")]
    # control: the plugin really made every request, each carrying 64 KiB
    assert ann["denied"] == REQUESTS
    asked = 2 * REQUESTS * HUGE  # ~393 MB of text the plugin wanted logged
    log_path = root / ".wiseflow" / "logs" / "wiseflow.log"
    written = log_path.stat().st_size
    assert written < asked / 50, written
    assert len(res.stderr) < asked / 50
    lines = log_lines(root)
    assert max(len(line["message"]) for line in lines) <= MAX_LINE + 50
    assert ann["longest"] < 1500  # the denial's own message is bounded too
    flooded = [ln for ln in lines if ln["logger"] in ("wiseflow.grants", "wiseflow.plugin.flooder")]
    shown = [ln for ln in flooded if "suppressed" not in ln["message"]]
    dropped = doc["plugins"]["flooder"]["log_dropped"]
    assert len(shown) + dropped == 2 * REQUESTS  # every line is either written or counted
    assert doc["plugins"]["innocent"]["log_dropped"] == 0
    if dropped:
        assert any("dropped by the rate limit" in ln["message"] for ln in lines)


def test_the_limiter_counts_what_it_drops_and_reports_it_once() -> None:
    """Past the burst, lines are counted, not logged; the count is logged when one passes."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("wiseflow.test-limiter")
    logger.propagate = False
    logger.addHandler(Keep())
    limiter = LogLimiter(rate=0.0, burst=3)
    for i in range(10):
        limiter.emit(logger, logging.WARNING, f"line {i} " + "z" * 10_000)
    assert [r.getMessage()[:6] for r in records] == ["line 0", "line 1", "line 2"]
    assert all(len(r.getMessage()) <= MAX_LINE + 40 for r in records)
    assert limiter.dropped_total == 7
    limiter.rate = 1e9  # the flood is over
    limiter.emit(logger, logging.WARNING, "after")
    after = [r.getMessage() for r in records[3:]]
    assert after == ["7 log line(s) suppressed (rate limit)", "after"]
