"""Pagination: Link headers, cursors, page numbers; limits mid-listing; loops; pauses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from toolkit_kit import Script, reply

from wiseflow import (
    CursorPagination,
    LinkPagination,
    PageNumberPagination,
    PluginError,
    parse_link_header,
)


def page(items: list[Any], link: str | None = None, **headers: str) -> Any:
    """A 200 JSON page, with a Link header when given."""
    if link is not None:
        headers["link"] = link
    return reply(200, json.dumps(items).encode(), **headers)


def nxt(n: int) -> str:
    return f'<https://api.example/items?page={n}>; rel="next"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<https://x/?page=2>; rel="next"', {"next": "https://x/?page=2"}),
        ("<https://x/?page=2>; rel=next", {"next": "https://x/?page=2"}),
        ('<https://x/?a=1,2>; rel="next", <https://x/?p=9>; rel="last"',
         {"next": "https://x/?a=1,2", "last": "https://x/?p=9"}),
        ('<https://x/2>; title="a;b"; rel="next last"', {"next": "https://x/2", "last": "https://x/2"}),
        ('<https://x/1>; rel="prev", <https://x/3>; REL="Next"', {"prev": "https://x/1", "next": "https://x/3"}),
        ("", {}),
        ("garbage", {}),
        ('https://x/2; rel="next"', {}),
        ('<https://x/2; rel="next"', {}),
        ('<>; rel="next"', {}),
        ('<https://x/2>; rel=', {}),
        ('<https://x/2>', {}),
    ],
)  # fmt: skip
def test_link_header_parsing(header: str, expected: dict[str, str]) -> None:
    """RFC 8288 Link headers are read in their real variety; malformed ones give no link."""
    assert parse_link_header(header) == expected


@given(st.text(max_size=300))
def test_link_header_parser_never_fails_and_never_invents_urls(header: str) -> None:
    """Any header text parses without error; every link found was written between <>."""
    for rel, url in parse_link_header(header).items():
        assert url and url in header
        assert rel == rel.lower() and rel


_URL = st.from_regex(
    r"https://[a-z]{1,8}\.example/[a-z0-9/]{0,12}\?page=[0-9]{1,3}", fullmatch=True
)


@given(st.lists(st.tuples(_URL, st.sampled_from(["next", "prev", "last", "first"])), max_size=5))
def test_link_headers_round_trip(links: list[tuple[str, str]]) -> None:
    """A header written from (url, rel) pairs reads back: the first url of each rel wins."""
    header = ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links)
    expected: dict[str, str] = {}
    for url, rel in links:
        expected.setdefault(rel, url)
    assert parse_link_header(header) == expected


def test_link_pagination_follows_next_until_the_end() -> None:
    """Three pages joined by rel="next" are fetched in order, then the listing ends."""
    s = Script(page([1, 2], nxt(2)), page([3], nxt(3)), page([4]))
    pages = list(s.client().paginate("https://api.example/items", LinkPagination()))
    assert [p.items for p in pages] == [[1, 2], [3], [4]]
    assert [p.number for p in pages] == [1, 2, 3]
    assert [u for _, u, _ in s.sent][1:] == [
        "https://api.example/items?page=2",
        "https://api.example/items?page=3",
    ]


def test_malformed_link_header_ends_the_listing_safely() -> None:
    """A next link that is malformed or not http(s) is ignored: no request to it."""
    s = Script(page([1], '<javascript:alert(1)>; rel="next"'))
    assert [p.items for p in s.client().paginate("https://api.example/items")] == [[1]]
    s = Script(page([1], "<https://api.example/items?page=2; rel=next"))
    assert [p.items for p in s.client().paginate("https://api.example/items")] == [[1]]
    assert len(s.sent) == 1


def test_relative_next_link_is_resolved_against_the_page() -> None:
    """`Link: </items?page=2>; rel="next"` is followed on the same server."""
    s = Script(page([1], '</items?page=2>; rel="next"'), page([2]))
    list(s.client().paginate("https://api.example/items"))
    assert s.sent[1][1] == "https://api.example/items?page=2"


def test_rate_limit_mid_listing_waits_and_continues_from_the_same_page() -> None:
    """A 429 on page 2 is a wait: page 2 is asked again, then page 3; nothing is lost."""
    s = Script(page([1], nxt(2)), reply(429, retry_after="1"), page([2], nxt(3)), page([3]))
    pages = list(s.client().paginate("https://api.example/items"))
    assert [p.items for p in pages] == [[1], [2], [3]]
    urls = [u for _, u, _ in s.sent]
    assert urls[1] == urls[2] == "https://api.example/items?page=2"
    assert s.slept == [1.0]


def test_long_wait_mid_listing_yields_pauses_between_sleeps() -> None:
    """A 50 s wait with max_sleep_s=20 comes as two empty pauses, then the page itself."""
    s = Script(page([1], nxt(2)), reply(429, retry_after="50"), page([2]))
    pages = list(s.client(max_sleep_s=20).paginate("https://api.example/items"))
    assert [(p.items, p.waiting, p.number) for p in pages] == [
        ([1], 0.0, 1), ([], 20.0, 2), ([], 20.0, 2), ([2], 0.0, 2)
    ]  # fmt: skip
    assert pages[1].response is None
    assert s.slept == [20.0, 20.0, 10.0]


def test_cursor_pagination_sends_the_cursor_back() -> None:
    """A cursor in the body is sent as ?cursor=...; a null cursor ends the listing."""
    s = Script(
        reply(200, b'{"data": [1, 2], "meta": {"next": "c2"}}'),
        reply(200, b'{"data": [3], "meta": {"next": null}}'),
    )
    pag = CursorPagination("meta.next", "cursor", items="data")
    pages = list(s.client().paginate("https://api.example/items?limit=2", pag))
    assert [p.items for p in pages] == [[1, 2], [3]]
    assert s.sent[1][1] == "https://api.example/items?limit=2&cursor=c2"


def test_cursor_loop_stops_with_an_error_not_forever() -> None:
    """A server sending the same cursor twice ends the listing with an error after its items."""
    body = b'{"data": [1], "next": "same"}'
    s = Script(*[reply(200, body)] * 50)
    pages = s.client().paginate("https://api.example/items", CursorPagination("next"))
    got = []
    with pytest.raises(PluginError) as info:
        for p in pages:
            got.append(p.items)
    assert "loops" in info.value.message
    assert got == [[1], [1]]  # the first page and the one the cursor named, once each
    assert len(s.sent) == 2


def test_link_loop_stops_with_an_error() -> None:
    """A next link pointing back to the first page is refused, not followed forever."""
    s = Script(page([1], nxt(2)), page([2], '<https://api.example/items>; rel="next"'))
    with pytest.raises(PluginError):
        list(s.client().paginate("https://api.example/items"))
    assert len(s.sent) == 2


def test_page_numbers_until_an_empty_page() -> None:
    """?page=1, 2, ... stops at the first empty page."""
    s = Script(page([1]), page([2]), page([]))
    pages = list(s.client().paginate("https://api.example/items", PageNumberPagination()))
    assert [p.items for p in pages] == [[1], [2], []]
    assert [u for _, u, _ in s.sent] == [
        "https://api.example/items",
        "https://api.example/items?page=2",
        "https://api.example/items?page=3",
    ]


def test_page_numbers_stop_at_a_short_page() -> None:
    """With per_page known, a short page is the last: no extra request."""
    s = Script(page([1, 2]), page([3]))
    pag = PageNumberPagination(per_page=2)
    assert len(list(s.client().paginate("https://api.example/items?page=1", pag))) == 2
    assert len(s.sent) == 2


def test_max_pages_bounds_the_listing() -> None:
    """max_pages=2 fetches two pages even when more are linked."""
    s = Script(page([1], nxt(2)), page([2], nxt(3)), page([3]))
    assert len(list(s.client().paginate("https://api.example/items", max_pages=2))) == 2
    assert len(s.sent) == 2


def test_conditional_listing_not_modified() -> None:
    """An ETag answered by 304 yields no page and sets not_modified."""
    s = Script(reply(304, b"", etag='"v1"'))
    pages = s.client().paginate("https://api.example/items", etag='"v1"')
    assert list(pages) == []
    assert pages.not_modified
    assert s.sent[0][2]["If-None-Match"] == '"v1"'


def test_first_page_validators_are_kept_and_only_the_first_request_is_conditional() -> None:
    """pages.etag/last_modified come from page 1; later pages are not conditional."""
    s = Script(page([1], nxt(2), etag='"v2"', last_modified="yesterday"), page([2]))
    pages = s.client().paginate("https://api.example/items", etag='"v1"')
    list(pages)
    assert (pages.etag, pages.last_modified, pages.not_modified) == ('"v2"', "yesterday", False)
    assert "If-None-Match" not in s.sent[1][2]


def test_a_page_that_is_not_json_fails_clearly() -> None:
    """An HTML error page served with 200 is a PluginError naming the page."""
    s = Script(reply(200, b"<html>maintenance</html>"))
    with pytest.raises(PluginError) as info:
        list(s.client().paginate("https://api.example/items"))
    assert "not JSON" in info.value.message


def test_items_from_a_key_path_or_a_function() -> None:
    """Items may sit under a key (GitHub search: "items") or be picked by a function."""
    s = Script(reply(200, b'{"items": [1, 2]}'), reply(200, b'{"x": {"y": [3]}}'))
    api = s.client()
    assert next(api.paginate("https://a/", LinkPagination(items="items"))).items == [1, 2]
    pag = LinkPagination(items=lambda body: body["x"]["y"])
    assert next(api.paginate("https://a/", pag)).items == [3]
