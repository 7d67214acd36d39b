"""Periods as consecutive integers, so series can be filled with zeros between gaps."""

from __future__ import annotations

from datetime import date, datetime, timedelta

__all__ = ["label", "period_index"]

_EPOCH_MONDAY = date(1, 1, 1)  # a Monday: ordinal 1


def period_index(t: datetime, period: str) -> int:
    """The integer index of the period holding ``t``."""
    if period == "day":
        return t.toordinal()
    if period == "week":
        return (t.toordinal() - 1) // 7
    if period == "month":
        return t.year * 12 + t.month - 1
    return t.year


def label(index: int, period: str) -> str:
    """A readable label for a period index (``2024-05-01``, ``2024-W18``, ``2024-05``, ``2024``)."""
    if period == "day":
        return date.fromordinal(index).isoformat()
    if period == "week":
        monday = _EPOCH_MONDAY + timedelta(days=index * 7)
        year, week, _ = monday.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    return f"{index:04d}"
