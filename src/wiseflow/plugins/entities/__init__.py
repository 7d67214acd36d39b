"""The ``entities`` analyzer: rule-based entity extraction, counts, ranks, co-occurrence."""

from __future__ import annotations

from wiseflow.plugins._shared.extract import KINDS, extract

from ._analyzer import EntitiesAnalyzer

__all__ = ["KINDS", "EntitiesAnalyzer", "extract"]
