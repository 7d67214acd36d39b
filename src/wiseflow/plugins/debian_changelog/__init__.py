"""The ``debian-changelog`` connector: one record per entry of every changelog.Debian.gz."""

from __future__ import annotations

from ._connector import DebianChangelogConnector

__all__ = ["DebianChangelogConnector"]
