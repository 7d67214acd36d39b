"""ApiClient: rate limits waited out, retries with backoff, conditional requests, bounds."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from toolkit_kit import Script, reply

from wiseflow import HttpError, PermissionDenied, TransientError

Make = Callable[..., Script]


@pytest.fixture
def script() -> Make:
    """A scripted backend builder: ``script(reply(429, retry_after="2"), reply())``."""
    return Script


def test_429_with_retry_after_is_waited_then_asked_again(script: Make) -> None:
    """A 429 with Retry-After: 2 costs one 2 s wait and one more request, not a failure."""
    s = script(reply(429, retry_after="2"), reply(200, b"[1]"))
    resp = s.client().get("https://api.example/items")
    assert resp.status == 200
    assert s.slept == [2.0]
    assert len(s.sent) == 2


def test_retry_after_as_http_date(script: Make) -> None:
    """Retry-After given as an HTTP date waits until that date."""
    s = script(reply(429, retry_after="Mon, 12 Jan 1970 13:46:45 GMT"), reply())
    s.now = 1_000_000.0  # 1970-01-12T13:46:40Z
    s.client().get("https://api.example/items")
    assert s.slept == [pytest.approx(5.0)]


def test_github_403_with_exhausted_quota_waits_until_reset(script: Make) -> None:
    """GitHub's 403 with X-RateLimit-Remaining: 0 waits until X-RateLimit-Reset."""
    s = script(
        reply(403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(1_000_000 + 30))),
        reply(),
    )
    s.client(max_sleep_s=100).get("https://api.example/items")
    assert s.slept == [30.0]


def test_github_secondary_limit_403_body_waits_the_default(script: Make) -> None:
    """A 403 whose body says "rate limit" (and names no time) waits limit_wait_s."""
    body = b'{"message": "You have exceeded a secondary rate limit."}'
    s = script(reply(403, body), reply())
    s.client(limit_wait_s=5).get("https://api.example/items")
    assert s.slept == [5.0]


def test_403_that_is_not_a_rate_limit_fails_at_once(script: Make) -> None:
    """A plain 403 (no limit headers, no limit wording) is an HttpError after one request."""
    s = script(reply(403, b'{"message": "Resource not accessible by integration"}'))
    with pytest.raises(HttpError) as info:
        s.client().get("https://api.example/items?token=sekrit")
    assert info.value.status == 403
    assert "not accessible" in info.value.message
    assert "sekrit" not in info.value.message  # the query may carry credentials
    assert len(s.sent) == 1 and s.slept == []


def test_http_error_quotes_at_most_200_characters_of_body(script: Make) -> None:
    """An error quotes a bounded, single-line excerpt of the body and no header."""
    s = script(reply(422, b"x\n" * 5000, authorization="Bearer t0ken"))
    with pytest.raises(HttpError) as info:
        s.client().get("https://api.example/items")
    assert len(info.value.message) < 300
    assert "\n" not in info.value.message and "t0ken" not in info.value.message


def test_wait_beyond_max_wait_raises_transient_error_with_retry_after(script: Make) -> None:
    """A wait that would cross max_wait_s is not slept: TransientError says how long."""
    s = script(reply(429, retry_after="600"))
    with pytest.raises(TransientError) as info:
        s.client(max_wait_s=120).get("https://api.example/items")
    assert info.value.retry_after == 600.0
    assert s.slept == []


def test_max_wait_counts_every_wait_of_the_client(script: Make) -> None:
    """Waits add up: the third 50 s limit crosses a 120 s budget and fails."""
    s = script(*[reply(429, retry_after="50")] * 3)
    api = s.client(max_wait_s=120, max_sleep_s=60)
    with pytest.raises(TransientError):
        api.get("https://api.example/items")
    assert s.slept == [50.0, 50.0]
    assert api.waited_s == 100.0


def test_hostile_retry_after_never_sleeps_forever(script: Make) -> None:
    """Retry-After: 999999999 fails at once instead of sleeping 31 years."""
    s = script(reply(429, retry_after="999999999"))
    with pytest.raises(TransientError) as info:
        s.client().get("https://api.example/items")
    assert info.value.retry_after == 999999999.0
    assert s.slept == []


def test_non_finite_or_negative_waits_are_bounded(script: Make) -> None:
    """`inf`, `nan` and negative Retry-After values fall back to sane, short waits."""
    s = script(
        reply(429, retry_after="inf"),
        reply(429, retry_after="-5"),
        reply(429, retry_after="nan"),
        reply(),
    )
    s.client(limit_wait_s=3).get("https://api.example/items")
    assert s.slept == [3.0, 1.0, 3.0]


def test_reset_in_the_past_still_waits_a_little(script: Make) -> None:
    """A reset time already passed waits min_limit_wait_s: the server is not hammered."""
    s = script(reply(403, x_ratelimit_remaining="0", x_ratelimit_reset="5"), reply())
    s.client().get("https://api.example/items")
    assert s.slept == [1.0]


def test_long_waits_are_slept_in_slices_of_max_sleep(script: Make) -> None:
    """No single sleep exceeds max_sleep_s, so one wait never outlasts a plugin's timeout."""
    s = script(reply(429, retry_after="50"), reply())
    s.client(max_sleep_s=20).get("https://api.example/items")
    assert s.slept == [20.0, 20.0, 10.0]


def test_5xx_is_retried_with_exponential_backoff_and_jitter(script: Make) -> None:
    """502, 503 then 200: two backoffs growing exponentially, jitter added."""
    s = script(reply(502), reply(503), reply(200))
    api = s.client(backoff_s=1.0, rng=lambda: 1.0)
    assert api.get("https://api.example/items").status == 200
    assert s.slept == [1.5, 3.0]


def test_5xx_given_up_after_bounded_attempts(script: Make) -> None:
    """A server failing every time is asked `attempts` times, then TransientError."""
    s = script(*[reply(500)] * 10)
    with pytest.raises(TransientError) as info:
        s.client(attempts=3).get("https://api.example/items")
    assert len(s.sent) == 3
    assert "HTTP 500" in info.value.message


def test_connection_errors_are_retried(script: Make) -> None:
    """A broker TransientError (connection refused, timeout) is retried, then succeeds."""
    s = script(TransientError("HTTP error: connection refused"), reply(200))
    assert s.client().get("https://api.example/items").status == 200
    assert len(s.sent) == 2


def test_post_is_not_retried_after_a_5xx(script: Make) -> None:
    """A POST may have had effects: a 5xx is not sent again."""
    s = script(reply(500), reply(200))
    with pytest.raises(TransientError):
        s.client().request("POST", "https://api.example/items", content=b"{}")
    assert len(s.sent) == 1


def test_permission_denied_is_never_retried(script: Make) -> None:
    """An ungranted host (WF301) fails at once: retrying cannot grant it."""
    s = script(PermissionDenied("not granted", permission="network"))
    with pytest.raises(PermissionDenied):
        s.client().get("https://api.example/items")
    assert len(s.sent) == 1 and s.slept == []


def test_conditional_request_sends_validators_and_returns_304(script: Make) -> None:
    """etag/last_modified become If-None-Match/If-Modified-Since; a 304 is returned."""
    s = script(reply(304))
    resp = s.client().get(
        "https://api.example/items", etag='"abc"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"
    )
    assert resp.status == 304
    headers = s.sent[0][2]
    assert headers["If-None-Match"] == '"abc"'
    assert headers["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_unasked_304_is_an_error(script: Make) -> None:
    """A 304 to an unconditional request is not mistaken for an empty success."""
    s = script(reply(304))
    with pytest.raises(HttpError):
        s.client().get("https://api.example/items")


def test_default_headers_are_sent_and_merged(script: Make) -> None:
    """Client headers go with every request; per-request headers override them."""
    s = script(reply())
    s.client(headers={"Accept": "a", "X-A": "1"}).get("https://x/", headers={"Accept": "b"})
    assert s.sent[0][2] == {"Accept": "b", "X-A": "1"}


def test_invalid_settings_are_refused() -> None:
    """A zero max_sleep_s or no attempts would hang or never send: refused at once."""
    with pytest.raises(ValueError):
        Script().client(max_sleep_s=0)
    with pytest.raises(ValueError):
        Script().client(attempts=0)


def test_a_spent_quota_is_waited_for_before_the_next_request(script: Make) -> None:
    """A 200 saying X-RateLimit-Remaining: 0 makes the next request wait for the reset first."""
    reset = str(int(1_000_000 + 12))
    s = script(reply(200, x_ratelimit_remaining="0", x_ratelimit_reset=reset), reply(200))
    api = s.client(max_sleep_s=60)
    api.get("https://api.example/items")
    assert s.slept == []  # the last page needs no wait
    api.get("https://api.example/items?page=2")
    assert s.slept == [12.0]
    assert len(s.sent) == 2  # no request was spent on being refused


def test_a_quota_with_requests_left_is_not_waited_for(script: Make) -> None:
    """X-RateLimit-Remaining above zero never delays a request."""
    s = script(reply(200, x_ratelimit_remaining="1", x_ratelimit_reset="1000030"), reply())
    api = s.client()
    api.get("https://api.example/items")
    api.get("https://api.example/items")
    assert s.slept == []


def test_http_error_keeps_status_and_url_through_pickle() -> None:
    """An HttpError copied between processes still says which status and URL failed."""
    import pickle

    sent = HttpError("gone", status=410, url="https://x/a", detail="Gone", plugin="p")
    err = pickle.loads(pickle.dumps(sent))
    assert (err.status, err.url, err.detail, err.plugin) == (410, "https://x/a", "Gone", "p")


def test_error_quotes_the_json_message_not_the_raw_body(script: Make) -> None:
    """From a JSON error body only GitHub's `message` is quoted, not the rest of it."""
    body = json.dumps({"message": "Validation Failed", "errors": [{"secret": "x" * 50}]})
    s = script(reply(422, body.encode()))
    with pytest.raises(HttpError) as info:
        s.client().get("https://api.example/items")
    assert info.value.message.endswith("answered HTTP 422: Validation Failed")
    assert info.value.detail == "Validation Failed"


def test_an_echoed_token_never_reaches_the_error(script: Make) -> None:
    """A server echoing the request (Authorization included) has the token masked."""
    echo = b"GET /items\r\nAuthorization: Bearer ghp_s3cr3tT0ken\r\nAccept: a/b"
    s = script(
        reply(400, echo), reply(400, json.dumps({"message": "bad ghp_s3cr3tT0ken"}).encode())
    )
    api = s.client(headers={"Authorization": "Bearer ghp_s3cr3tT0ken"})
    for _ in range(2):
        with pytest.raises(HttpError) as info:
            api.get("https://api.example/items")
        assert "ghp_s3cr3tT0ken" not in info.value.message
        assert "***" in info.value.message
