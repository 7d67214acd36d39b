"""The dashboard's JSON API over a real run in another process and its real store.

Every endpoint answers; GET never changes anything; changes need the session token (403
without it, nothing happens); a Host header that is not loopback is refused; the OpenAPI
description lists every endpoint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_kit import HOSTILE, LiveRun, release, wait_for

pytest.importorskip("starlette")
from wiseflow._dashboard import DashboardServer, Sources

API_GETS = (
    "/api/state",
    "/api/plugins",
    "/api/plugins/flaky",
    "/api/stages",
    "/api/events",
    "/api/runs",
    "/api/runs/1",
    "/api/dead-letters",
    "/api/dead-letters?run=1",
    "/openapi.json",
    "/",
)


_SERVERS: list[DashboardServer] = []
_CLIENTS: list[httpx.Client] = []
TOKEN = ""


@pytest.fixture(autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()
    while _SERVERS:
        _SERVERS.pop().stop()


def _client(project: Path, *, remote: bool = False) -> httpx.Client:
    """A real dashboard server on a free loopback port (stopped after the test), and a
    client of it; the session token is in the global ``TOKEN``."""
    global TOKEN
    sources = Sources(
        project / ".wiseflow",
        pipelines={"live": str(project / "p.toml")},
        config=str(project / "wiseflow.toml"),
    )
    server = DashboardServer(sources, port=0, remote=remote).start()
    _SERVERS.append(server)
    TOKEN = server.token
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    _CLIENTS.append(client)
    return client


def _fingerprint(data_dir: Path) -> dict[str, str]:
    """Every file of the data dir but the live snapshots (which the run rewrites) and logs."""
    out = {}
    for p in sorted(data_dir.rglob("*")):
        rel = p.relative_to(data_dir).as_posix()
        # the shared-memory index of WAL readers is not state (readers write their marks),
        # nor is an empty WAL that SQLite creates when a reader opens the database
        empty_wal = rel.endswith("-wal") and p.stat().st_size == 0
        if p.is_file() and not rel.startswith(("metrics/", "logs/")) and "-shm" not in rel:
            if empty_wal:
                continue
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            out[rel] = "dir"
    return out


def _plugin(client: httpx.Client, name: str) -> dict[str, Any]:
    got: dict[str, Any] = client.get(f"/api/plugins/{name}").json()
    return got


@pytest.fixture
def running(project: Path, live_run: Any) -> Iterator[LiveRun]:
    """A finished run 1 (with dead letters), then run 2 live with 4 records through."""
    first = live_run("--report", "report.html")
    release(project, 4)
    first.wait_fetched(4)
    code, out = first.finish()
    assert code == 1 and json.loads(out)["records"]["dead_letters"] == 1, first.stderr
    release(project, 0)
    second = live_run("--full-refresh")
    release(project, 4)
    second.wait_fetched(4)
    yield second


def test_every_get_answers_and_changes_nothing(project: Path, running: LiveRun) -> None:
    """Each GET endpoint answers 200 with what the run and the store hold, and no request
    reaches the run; once it ended, GETs leave the data dir byte for byte as it was."""
    client = _client(project)
    got = {path: client.get(path) for path in API_GETS}
    assert {p: r.status_code for p, r in got.items()} == dict.fromkeys(API_GETS, 200)
    state = got["/api/state"].json()
    assert [h["run"]["run_id"] for h in state["hosts"]] == [2]
    assert {p["name"] for p in state["plugins"]} == {"gated", "flaky", "upper"}
    flaky = got["/api/plugins/flaky"].json()
    assert flaky["last_error"]["message"].endswith(HOSTILE[:-5] + "\x1b[31m")
    assert "plugin.py" in flaky["last_error"]["traceback"]
    assert [s["name"] for s in got["/api/stages"].json()["stages"]] == ["gated", "flaky", "upper"]
    assert [r["run_id"] for r in got["/api/runs"].json()["runs"]] == [2, 1]
    assert got["/api/runs/1"].json()["summary"]["records"]["dead_letters"] == 1
    kept = got["/api/runs/1"].json()["summary"]["plugins"]["upper"]["resources"]["history"]
    assert 1 <= len(kept) <= 60 and kept[-1][3] == 3  # [t, cpu_s, memory_mb, records_out]
    # fetched again by run 2 and refused again: the dead letter is run 2's now
    assert got["/api/dead-letters?run=1"].json()["dead_letters"] == []
    (letter,) = got["/api/dead-letters"].json()["dead_letters"]
    assert letter["record_id"] == "2" and letter["code"] == "WF400" and letter["run_id"] == 2
    assert "record" not in letter  # bodies stay in the store
    assert client.get("/api/stream?limit=1").text.startswith("retry: 2000\n\nevent: state\ndata: {")
    assert not list((project / ".wiseflow" / "metrics").glob("*.control/*.json"))
    running.finish()
    before = _fingerprint(project / ".wiseflow")
    assert {client.get(path).status_code for path in API_GETS if "flaky" not in path} == {200}
    assert _fingerprint(project / ".wiseflow") == before
    report = client.get("/api/runs/1/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert report.headers["content-security-policy"].startswith("sandbox;")  # no script runs
    assert "live" in report.text
    for path in ("/api/runs/99", "/api/plugins/nosuch", "/api/runs/2/report"):
        assert client.get(path).status_code == 404, path
    assert client.get("/api/dead-letters?run=x").status_code == 400


def test_changes_need_the_token(project: Path, running: LiveRun) -> None:
    """Disable without the token, with a wrong one, or by GET: refused (403/405) and the
    plugin stays ACTIVE; with the token the run disables it, and enables it again."""
    client = _client(project)
    for headers in ({}, {"X-Wiseflow-Token": "guess"}, {"X-Wiseflow-Token": TOKEN + "x"}):
        res = client.post("/api/plugins/upper/disable", headers=headers)
        assert res.status_code == 403
        assert res.json()["error"]["code"] == "WF301"
        assert "X-Wiseflow-Token" in res.json()["error"]["message"]
    assert client.get("/api/plugins/upper/disable").status_code == 405
    assert client.post("/api/dead-letters/replay", json={"run": 1}).status_code == 403
    assert not list((project / ".wiseflow" / "metrics").glob("*.control/*.json"))

    ok = client.post("/api/plugins/upper/disable", headers={"X-Wiseflow-Token": TOKEN})
    assert ok.status_code == 202 and ok.json()["instance"] == "upper"
    wait_for(lambda: _plugin(client, "upper")["state"] == "DISABLED", "upper DISABLED")
    release(project, 6)  # records 4 and 5 reach upper while it is disabled
    running.wait_fetched(6)
    events = client.get("/api/events").json()["events"]
    assert any(e["event"] == "request-disable" and e["plugin"] == "upper" for e in events)
    client.post("/api/plugins/upper/enable", headers={"X-Wiseflow-Token": TOKEN})
    wait_for(lambda: _plugin(client, "upper")["state"] == "ACTIVE", "upper ACTIVE again")
    code, out = running.finish()
    doc = json.loads(out)
    assert doc["plugins"]["upper"]["state"] == "ACTIVE"
    letters = client.get("/api/dead-letters?run=2").json()["dead_letters"]
    assert {(d["record_id"], d["plugin"], d["code"]) for d in letters} >= {
        ("4", "upper", "WF405"), ("5", "upper", "WF405")}  # fmt: skip
    assert (
        client.post("/api/plugins/nosuch/disable", headers={"X-Wiseflow-Token": TOKEN}).json()[
            "error"
        ]["code"]
        == "not_found"
    )


def test_replay_starts_a_replay_run(project: Path, running: LiveRun) -> None:
    """POST replay of run 2 (with the token) starts `dead-letters replay`: a replay run
    appears; a bad body is 400, an unknown run 404."""
    client = _client(project)
    auth = {"X-Wiseflow-Token": TOKEN}
    assert client.post("/api/dead-letters/replay", content=b"[]", headers=auth).status_code == 400
    assert (
        client.post("/api/dead-letters/replay", json={"run": 99}, headers=auth).status_code == 404
    )
    running.finish()
    res = client.post("/api/dead-letters/replay", json={"run": 2}, headers=auth)
    assert res.status_code == 202, res.text
    wait_for(lambda: client.get("/api/state").json()["replay"]["exit"] is not None, "its end")
    replay = client.get("/api/state").json()["replay"]
    assert replay["exit"] == 1 and replay["error"] is None  # record 2 fails again: partial
    runs = client.get("/api/runs").json()["runs"]
    assert runs[0]["replay"] and runs[0]["status"] in ("ok", "partial")


def test_host_header_and_remote_mode(project: Path) -> None:
    """A page of another site rebinding its name to 127.0.0.1 gets 400; in remote mode every
    request needs the token, GET included."""
    client = _client(project)
    assert client.get("/api/runs", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/runs", headers={"Host": "localhost:8750"}).status_code == 200
    remote = _client(project, remote=True)
    assert remote.get("/api/runs", headers={"Host": "evil.example"}).status_code == 403
    assert remote.get("/api/runs").status_code == 403
    assert remote.get(f"/api/runs?token={TOKEN}").status_code == 200
    assert remote.get("/api/runs", headers={"X-Wiseflow-Token": TOKEN}).status_code == 200


def test_page_carries_the_token_only_when_opened_with_it(project: Path) -> None:
    """`/` without the token is read-only (empty token); with it, the token is in the page.
    Every response has the strict CSP, nosniff and no framing."""
    client = _client(project)
    plain = client.get("/")
    assert '<meta name="wiseflow-token" content="">' in plain.text
    assert f'content="{TOKEN}"' in client.get(f"/?token={TOKEN}").text
    assert TOKEN not in client.get("/?token=wrong").text
    csp = plain.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert plain.headers["x-frame-options"] == "DENY"
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert plain.headers["referrer-policy"] == "no-referrer"
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../_app.py").status_code == 404


def test_openapi_describes_every_api_route(project: Path) -> None:
    """/openapi.json lists every /api/ route with its method."""
    doc = _client(project).get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert set(paths) == {
        "/api/state", "/api/stream", "/api/plugins", "/api/plugins/{name}",
        "/api/plugins/{name}/disable", "/api/plugins/{name}/enable", "/api/stages",
        "/api/events", "/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/report",
        "/api/dead-letters", "/api/dead-letters/replay",
    }  # fmt: skip
    assert set(paths["/api/plugins/{name}/disable"]) == {"post"}
    assert all(set(v) == {"get"} for k, v in paths.items() if not k.endswith(
        ("disable", "enable", "replay")))  # fmt: skip


def test_streams_and_changes_are_bounded(project: Path) -> None:
    """At most MAX_STREAMS event streams at once (503 beyond, room again once one closes);
    at most POSTS_PER_MINUTE changes a minute (429 beyond)."""
    from wiseflow._dashboard._app import MAX_STREAMS, POSTS_PER_MINUTE

    client = _client(project)
    with ExitStack() as stack:
        readers = []  # kept: dropping a reader closes its stream
        for _ in range(MAX_STREAMS):
            resp = stack.enter_context(client.stream("GET", "/api/stream"))
            readers.append(resp.iter_lines())
            assert next(readers[-1]) == "retry: 2000"  # the stream runs
        assert client.get("/api/stream").status_code == 503
    wait_for(lambda: client.get("/api/stream?limit=1").status_code == 200, "room again")
    auth = {"X-Wiseflow-Token": TOKEN}
    codes = [client.post("/api/plugins/x/disable", headers=auth).status_code
             for _ in range(POSTS_PER_MINUTE + 1)]  # fmt: skip
    assert codes[:-1] == [404] * POSTS_PER_MINUTE and codes[-1] == 429
    assert client.post("/api/plugins/x/disable").status_code == 403  # no token: not counted


def test_loopback_addresses() -> None:
    """Only addresses this machine alone reaches count as loopback."""
    from wiseflow._dashboard import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.2", "example.com", ""]))
