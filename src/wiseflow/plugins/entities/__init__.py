"""The ``entities`` analyzer: rule-based entity extraction, counts, ranks, co-occurrence."""

from __future__ import annotations

from ._analyzer import EntitiesAnalyzer
from .extract import KINDS, extract

__all__ = ["KINDS", "EntitiesAnalyzer", "extract"]
