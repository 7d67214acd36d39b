"""File grants with the host's own folders carved out of them.

A Landlock rule on a folder covers everything beneath it, and no rule can take a subfolder
back. So a grant of the project folder (``fs_read = ["."]``) would also give a confined
plugin the data dir inside it: the store with every plugin's records, the logs, the other
plugins' data dirs. Here such a grant is replaced by what it holds *except* the protected
folders: each entry of each folder on the way down to a protected one is granted on its
own, and the folders on the way are granted for listing only (``READ_DIR``: names, not
contents; Landlock applies it beneath them too, so the protected folder's names can be
listed, never read or written).

Entries are taken as they are when the worker starts: a file created later directly in a
folder on the way is not covered (files inside its granted subfolders are). Symbolic links
among those entries are left out: a rule follows them, and the original grant covered only
what lies beneath the folder. A grant that lies inside a protected folder grants nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["MAX_ENTRIES", "carve"]

#: The most entries one carved grant may become (rules are per entry); past this the grant
#: keeps only the folders on the way, for listing, and the entries seen so far.
MAX_ENTRIES = 20_000


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def carve(roots: Iterable[str], protected: Iterable[str]) -> tuple[list[str], list[str]]:
    """``roots`` (absolute, resolved) with every ``protected`` folder left out.

    Returns:
        (paths to grant as the roots were granted, folders to grant for listing only).
    """
    shield = [os.path.realpath(p) for p in protected]
    grant: list[str] = []
    listing: list[str] = []
    for root in roots:
        real = os.path.realpath(root)
        if any(_under(real, p) for p in shield):
            continue  # inside a protected folder: nothing
        inside = [p for p in shield if _under(p, real)]
        if not inside:
            grant.append(root)
            continue
        budget = [MAX_ENTRIES]
        _split(real, inside, grant, listing, budget)
    return grant, listing


def _split(
    folder: str, inside: list[str], grant: list[str], listing: list[str], budget: list[int]
) -> None:
    """Grant ``folder``'s entries except those holding a protected folder (recursing into
    them); ``folder`` itself for listing only."""
    listing.append(folder)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # unreadable now: only its name stays listable
    for entry in entries:
        path = entry.path
        beneath = [p for p in inside if _under(p, path)]
        if path in beneath:
            continue  # the protected folder itself
        if beneath:
            if entry.is_dir(follow_symlinks=False):
                _split(path, beneath, grant, listing, budget)
            continue
        if entry.is_symlink() or budget[0] <= 0:
            continue
        budget[0] -= 1
        grant.append(path)
