"""The ``text`` processor: HTML stripping, normalisation, language, (near-)duplicates."""

from __future__ import annotations

from ._processor import TextProcessor

__all__ = ["TextProcessor"]
