"""github: real recorded GitHub exchanges replayed by a local server, never the internet."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from plugin_helpers import replay_server

from wiseflow import TransientError
from wiseflow._pipeline import local_stage

PIPE = """
[pipeline]
name = "gh"
[[sources]]
plugin = "github"
config = {{ repo = "{repo}", resource = "{resource}", api_url = "{base}" }}
"""


def test_commits_follow_link_pagination(replay: Any, run: Any) -> None:
    """Three recorded pages of commits are fetched by following rewritten Link headers."""
    text = PIPE.format(repo="PyGithub/PyGithub", resource="commits", base=replay.base)
    summary, store = run(text)
    assert summary.status == "ok", summary.errors
    assert summary.stored == 90
    paths = [r["path"] for r in replay.requests]
    assert len(paths) == 3
    assert "last_sha=c1440bdf20bfeb62684c6d1779448719dce9d2df" in paths[1]
    rec = next(r for r in store.records() if r.id == "ecda065e01876209d2bdf5fe4e91cee8ffaa9ff7")
    assert rec.kind == "commit"
    assert rec.author == "Vincent Jacques"
    assert rec.time is not None


def test_issues_and_conditional_rerun(replay: Any, run: Any) -> None:
    """Issues are stored; runs resume from the high-water mark and a 304 yields nothing."""
    text = PIPE.format(repo="PyGithub/PyGithub", resource="issues", base=replay.base)
    first, store = run(text)
    assert first.stored == 16
    rec = next(r for r in store.records() if r.id == "30")
    assert rec.kind == "issue"
    assert rec.title == "Issue also created by PyGithub"
    assert rec.data["milestone"] == "Version 1.0: coherent public interface"
    second, _ = run(text)  # asks since the high-water mark: a new URL, no ETag for it yet
    assert "since=2012-05-27T05:40:15Z" in replay.requests[-1]["path"]
    assert second.stored == 0
    third, _ = run(text)  # the same URL again: conditional request, 304, nothing fetched
    assert third.fetched == 0
    etag = replay.requests[-1]["headers"].get("If-None-Match")
    assert etag == '"41676dcfbbfc49368e60f758c3e1d36f"'


def test_releases_and_token_header(replay: Any, run: Any) -> None:
    """A release list is read; a granted GITHUB_TOKEN is sent as a bearer token."""
    latest = replay_server.load("GitRelease.testGetLatestRelease.txt")[0]
    # The recording is of /releases/latest; the list endpoint answers with that release.
    replay.overrides["/repos/rickrickston123/RepoTest/releases"] = (
        200, {"Content-Type": "application/json"}, f"[{latest.body}]"
    )  # fmt: skip
    text = PIPE.format(repo="rickrickston123/RepoTest", resource="releases", base=replay.base)
    summary, store = run(text, secrets={"GITHUB_TOKEN": "t0ken"})
    (rec,) = list(store.records())
    assert rec.kind == "release"
    assert rec.id == str(json.loads(latest.body)["id"])  # keyed by the release's id
    assert rec.data["tag"] == "v1.0"
    assert replay.requests[0]["headers"]["Authorization"] == "Bearer t0ken"


def test_unknown_repository_fails_with_hint(replay: Any, run: Any) -> None:
    """The recorded 404 becomes a failed source with a hint about the repo name."""
    text = PIPE.format(repo="jacquev6/Xxx", resource="issues", base=replay.base)
    replay.overrides["/repos/jacquev6/Xxx/issues"] = replay.answer("/repos/jacquev6/Xxx", {})
    summary, _ = run(text)
    assert summary.status == "failed"
    assert "not found" in summary.errors[0]["message"]
    assert "repo" in summary.errors[0]["hint"]


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "{reset}"}, 100.0),
        (429, {"Retry-After": "7"}, 7.0),
        (403, {"Retry-After": "3"}, 3.0),
    ],
)
def test_rate_limits_beyond_max_wait_raise_transient_error_with_wait(
    replay: Any, tmp_path: Any, status: int, headers: dict[str, str], expected: float
) -> None:
    """A limit longer than max_wait_s is not waited: TransientError(retry_after=...) at once."""
    reset = str(int(time.time()) + 100)
    hdrs = {k: v.format(reset=reset) for k, v in headers.items()}
    replay.overrides["/repos/o/r/issues"] = (status, hdrs, json.dumps({"message": "limit"}))
    config = {"repo": "o/r", "api_url": replay.base, "max_wait_s": 0}
    stage = local_stage("github", config=config, data_dir=tmp_path)
    try:
        with pytest.raises(TransientError) as info:
            list(stage.fetch(None))
    finally:
        stage.close()
    assert info.value.retry_after is not None
    assert abs(info.value.retry_after - expected) < 3
    assert len(replay.requests) == 1  # reported, not hammered


def test_network_is_limited_to_the_granted_api_url(tmp_path: Any) -> None:
    """Without the operator naming another api_url, only api.github.com is granted."""
    from wiseflow import PermissionDenied

    stage = local_stage("github", config={"repo": "o/r"}, data_dir=tmp_path)
    try:
        with pytest.raises(PermissionDenied):
            stage.runner.context.http.get("http://127.0.0.1:9/")  # the runner holds the context
    finally:
        stage.close()


def test_negative_max_wait_is_a_config_error(tmp_path: Any) -> None:
    """`max_wait_s = -1` is refused when the config is read (WF105), not mid-run."""
    from wiseflow import ConfigError

    with pytest.raises(ConfigError) as info:
        local_stage("github", config={"repo": "o/r", "max_wait_s": -1}, data_dir=tmp_path)
    assert "max_wait_s" in info.value.message
