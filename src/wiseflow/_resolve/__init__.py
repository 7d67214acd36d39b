"""Resolution: one version per plugin, a load order, and explanations of both.

Modules, one job each:

- ``_index``: candidates prepared (versions parsed, API/Python compatibility, duplicates).
- ``_search``: the backtracking search and the dead ends its failures leave.
- ``_graph``: cycles with printable paths, topological load order.
- ``_driver``: ``resolve()``: roots, failures, optional requirements, fallbacks.
- ``_result``: ``Resolution`` and the dependency tree.
"""

from __future__ import annotations

from ._driver import resolve
from ._result import DepNode, Resolution, dependency_tree, render_tree

__all__ = [
    "DepNode",
    "Resolution",
    "dependency_tree",
    "render_tree",
    "resolve",
]
