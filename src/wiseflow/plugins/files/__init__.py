"""The ``files`` connector: text, Markdown and HTML files under a root, by mtime."""

from __future__ import annotations

from ._connector import FilesConnector

__all__ = ["FilesConnector"]
