"""The ``git`` connector: commits of a local repository, incrementally by last seen commit."""

from __future__ import annotations

from ._connector import GitConnector

__all__ = ["GitConnector"]
