"""A scripted ``ctx.http`` backend and a fake clock for the toolkit's tests."""

from __future__ import annotations

from typing import Any

from wiseflow import ApiClient, HttpResponse
from wiseflow._contract._context import HttpClient

Answer = HttpResponse | BaseException


def reply(status: int = 200, body: bytes = b"[]", **headers: str) -> HttpResponse:
    """A response as the broker would hand it over (header names lower-cased)."""
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    return HttpResponse(status, hdrs, body, "https://api.example/items")


class Script:
    """A ``ctx.http`` backend answering from a list; records what was asked and slept."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict[str, str]]] = []
        self.slept: list[float] = []
        self.now = 1_000_000.0

    def http_request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: Any
    ) -> HttpResponse:
        self.sent.append((method, url, headers))
        answer = self.answers.pop(0) if self.answers else reply()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def secret(self, name: str) -> str | None:
        return None

    def check_read(self, path: str) -> str:
        return path

    def call_plugin(self, name: str, method: str, args: list[Any]) -> Any:
        return None

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def client(self, **kw: Any) -> ApiClient:
        kw.setdefault("rng", lambda: 0.0)
        return ApiClient(
            HttpClient(self), plugin="t", sleep=self.sleep, clock=lambda: self.now, **kw
        )
