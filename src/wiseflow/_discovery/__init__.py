"""Discovery: find plugins (installed, in folders, handed in) without running their code.

Modules, one job each:

- ``_candidate``: the ``Candidate`` / ``Discovery`` value objects.
- ``_sites``: installed distributions and entry points, read from ``sys.path`` by path.
- ``_folders``: plugin folders.
- ``_cache``: parsed files remembered by stat stamp between runs.
- ``_discover``: ``discover()``, tying them together and reporting duplicates.
"""

from __future__ import annotations

from ._candidate import ORIGINS, Candidate, Discovery, ScanStats
from ._discover import discover
from ._sites import GROUP

__all__ = [
    "GROUP",
    "ORIGINS",
    "Candidate",
    "Discovery",
    "ScanStats",
    "discover",
]
