"""github through the connector toolkit: rate limits mid-listing are waits, not failures.

The recorded PyGithub commits (90 of them, three recorded pages) are served again by the
replay server in pages of 10, so a listing is long enough to be limited in its middle.
Waits are kept at about one second; assertions are about counts, order and lower bounds
on the waits, never about how fast a loaded machine is.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from plugin_helpers import replay_server

COMMITS = "/repos/PyGithub/PyGithub/commits"
ISSUES = "/repos/PyGithub/PyGithub/issues"
RECORDED_SHAS = {
    item["sha"]
    for x in replay_server.load("Repository.testGetCommits.txt")
    for item in json.loads(x.body)
}


def wiseflow_run(folder: Path, base: str, level: str, **config: Any) -> dict[str, Any]:
    """`wiseflow run --json` of a one-source github pipeline, as an operator runs it."""
    (folder / "wiseflow.toml").write_text(f'[policy]\nlevel = "{level}"\n')
    settings = {"repo": "PyGithub/PyGithub", "api_url": base, **config}
    inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    (folder / "p.toml").write_text(
        f'[pipeline]\nname = "gh"\n[[sources]]\nplugin = "github"\nconfig = {{ {inline} }}\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "wiseflow", "run", "p.toml", "--json"],
        cwd=folder, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert done.stdout, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    doc["exit"] = done.returncode
    doc["stderr"] = done.stderr
    return doc


def stored_ids(folder: Path) -> list[str]:
    db = sqlite3.connect(folder / ".wiseflow" / "wiseflow.db")
    try:
        return [r[0] for r in db.execute("select id from records where source = 'github'")]
    finally:
        db.close()


def dead_letters(folder: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(folder / ".wiseflow" / "wiseflow.db")
    try:
        rows = db.execute("select record_id, code, reason from dead_letters order by seq")
        return [tuple(r) for r in rows]
    finally:
        db.close()


def requests_to(replay: Any, path: str) -> list[tuple[int, float]]:
    """(page, monotonic time) of every request the server got for ``path``, in order."""
    return [
        (replay.page_of(r["path"]), r["at"])
        for r in replay.requests
        if r["path"].split("?")[0] == path
    ]


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_limits_on_page_1_and_page_5_are_waited_out_and_every_item_stored(
    replay: Any, tmp_path: Path, level: str
) -> None:
    """A rate-limit 403 on page 1 and a 429 on page 5: all 90 items stored, each wait honoured."""
    pages = replay.repage(COMMITS, 10)
    assert pages == 9
    reset = str(int(time.time()) + 1)
    replay.inject(COMMITS, 1, (
        403,
        {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        json.dumps({"message": "API rate limit exceeded for 127.0.0.1."}),
    ))  # fmt: skip
    replay.inject(COMMITS, 5, (429, {"Retry-After": "1"}, json.dumps({"message": "slow down"})))
    doc = wiseflow_run(tmp_path, replay.base, level, resource="commits", per_page=10)

    assert doc["exit"] == 0, doc
    assert doc["status"] == "ok" and doc["errors"] == []
    assert doc["records"]["stored"] == 90 and doc["records"]["dead_letters"] == 0
    ids = stored_ids(tmp_path)
    assert set(ids) == RECORDED_SHAS and len(ids) == 90  # keyed by sha, none lost or merged
    asked = requests_to(replay, COMMITS)
    per_page = Counter(page for page, _ in asked)
    assert per_page == {1: 2, 2: 1, 3: 1, 4: 1, 5: 2, 6: 1, 7: 1, 8: 1, 9: 1}  # no hammering
    assert [page for page, _ in asked] == [1, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9]  # same page again
    first, again = [at for page, at in asked if page == 1]
    assert again - first >= 0.95  # asked again only after the announced wait (>= 1 s)
    first, again = [at for page, at in asked if page == 5]
    assert again - first >= 0.95  # Retry-After: 1
    assert doc["stderr"].count("rate limited") == 2  # each wait is logged once


def test_a_limit_beyond_max_wait_ends_the_source_with_wf407_and_keeps_earlier_pages(
    replay: Any, tmp_path: Path
) -> None:
    """A hostile Retry-After: 999999999 on page 3 is not slept: WF407, pages 1-2 kept."""
    replay.repage(COMMITS, 10)
    replay.inject(COMMITS, 3, (429, {"Retry-After": "999999999"}, "{}"))
    started = time.monotonic()
    doc = wiseflow_run(tmp_path, replay.base, "sandboxed", resource="commits", per_page=10)
    assert time.monotonic() - started < 120  # far from 31 years; no wait was slept at all
    assert doc["status"] == "failed"
    assert doc["errors"][0]["code"] == "WF407"
    assert "999999999" in doc["errors"][0]["message"]
    assert doc["records"]["stored"] == 20
    assert Counter(page for page, _ in requests_to(replay, COMMITS))[3] == 1


def test_a_403_that_is_not_a_rate_limit_fails_at_once(replay: Any, tmp_path: Path) -> None:
    """A 403 refusal (no limit headers, no limit wording) fails the source after one request."""
    replay.repage(COMMITS, 10)
    replay.inject(COMMITS, 2, (403, {}, json.dumps({"message": "Must have push access"})))
    doc = wiseflow_run(tmp_path, replay.base, "trusted", resource="commits", per_page=10)
    assert doc["status"] == "failed"
    assert "HTTP 403" in doc["errors"][0]["message"]
    assert "push access" in doc["errors"][0]["message"]
    assert Counter(page for page, _ in requests_to(replay, COMMITS)) == {1: 1, 2: 1}
    assert doc["records"]["stored"] == 10


def test_server_errors_are_retried_with_backoff_mid_listing(replay: Any, tmp_path: Path) -> None:
    """Two 502s on page 4 are retried; the listing completes with every item."""
    replay.repage(COMMITS, 10)
    replay.inject(COMMITS, 4, (502, {}, "bad gateway"), (502, {}, "bad gateway"))
    doc = wiseflow_run(tmp_path, replay.base, "trusted", resource="commits", per_page=10)
    assert doc["status"] == "ok", doc["errors"]
    assert doc["records"]["stored"] == 90
    assert Counter(page for page, _ in requests_to(replay, COMMITS))[4] == 3


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_items_without_a_key_are_dead_letters_never_none(
    replay: Any, tmp_path: Path, level: str
) -> None:
    """Issues missing `number` are keyed by `id`; items with neither are dead-lettered alone."""
    recorded = next(json.loads(x.body) for x in replay_server.load("Repository.testGetIssues.txt"))
    items = [dict(i) for i in recorded if not (i.get("pull_request") or {}).get("html_url")]
    assert len(items) >= 4
    del items[0]["number"]  # keyed by its global id instead
    for item in items[1:3]:  # two distinct items with no key at all
        del item["number"]
        del item["id"]
    replay.overrides[ISSUES] = (200, {"Content-Type": "application/json"}, json.dumps(items))
    doc = wiseflow_run(tmp_path, replay.base, level, resource="issues")
    ids = stored_ids(tmp_path)
    assert "None" not in ids
    assert str(items[0]["id"]) in ids
    assert len(ids) == len(items) - 2
    letters = dead_letters(tmp_path)
    assert [code for _, code, _ in letters] == ["WF408", "WF408"]
    assert {rid for rid, _, _ in letters} == {items[1]["html_url"], items[2]["html_url"]}
    assert "no 'number' or 'id'" in letters[0][2]
    assert doc["records"]["dead_letters"] == 2
    assert doc["records"]["stored"] == len(items) - 2
