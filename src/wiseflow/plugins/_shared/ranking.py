"""Ranking counts the same way in every process, and the labels of entity kinds."""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["LABELS", "ranked"]

LABELS = {
    "cve": "CVEs",
    "package": "packages",
    "version": "versions",
    "person": "people",
    "email_domain": "e-mail domains",
    "domain": "web domains",
    "issue": "issue references",
}
"""Plural, human names of the entity kinds, for chart and table titles."""


def ranked(counter: Counter[Any], n: int | None = None) -> list[tuple[Any, int]]:
    """Most common first, ties broken by value, so every process ranks alike."""
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return items if n is None else items[:n]
