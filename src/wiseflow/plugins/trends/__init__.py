"""The ``trends`` analyzer: time series per period, trend test, bursts, forecast."""

from __future__ import annotations

from ._analyzer import TrendsAnalyzer

__all__ = ["TrendsAnalyzer"]
