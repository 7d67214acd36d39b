"""A finding's rule, and the scale of how sure the audit is that it is hostile.

Severities say how sure the audit is that a statement is hostile, not how powerful it is
(see ``_rules``).
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["RANK", "SEVERITIES", "Rule", "raise_to"]

SEVERITIES: Final = ("info", "low", "medium", "high", "critical")
RANK: Final = {s: i for i, s in enumerate(SEVERITIES)}


class Rule(NamedTuple):
    """A rule id, its severity and what it tells the operator."""

    rule: str
    severity: str
    message: str


def raise_to(severity: str, floor: str) -> str:
    """The higher of two severities."""
    return severity if RANK[severity] >= RANK[floor] else floor
