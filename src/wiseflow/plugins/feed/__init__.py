"""The ``feed`` connector: RSS/Atom entries from files and URLs."""

from __future__ import annotations

from ._connector import FeedConnector

__all__ = ["FeedConnector"]
