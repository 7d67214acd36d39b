"""The ``github`` connector: issues, pulls, commits or releases through ``ctx.http``."""

from __future__ import annotations

from ._connector import GitHubConnector

__all__ = ["GitHubConnector"]
