"""The operator's approvals: ``wiseflow.lock``, plugin files as they are now, and the
grant each approved identity gets.

The manager owns one :class:`Approvals`; the CLI's ``grant``/``revoke``/``list``/``info``
and ``check`` use it through the manager.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._discovery import Candidate
from ._errors import IntegrityError
from ._grants import Grant, union
from ._identity import origin_of, plugin_root
from ._lock import Lock, LockEntry, check_entry, load_lock, save_lock
from ._operator import OperatorConfig

if TYPE_CHECKING:
    from ._integrity import HashCache

__all__ = ["Approvals"]


class Approvals:
    """``wiseflow.lock`` at ``path`` and what it says about candidates.

    Args:
        config: the operator configuration (its ``grant`` entries join the lock's).
        path: where the lock is read from and written to.
        hash_cache: a file remembering digests by stat stamp (None: none kept).
        lock: a lock given directly (tests, embedding); read from ``path`` when None.
    """

    def __init__(
        self,
        config: OperatorConfig,
        path: Path,
        *,
        hash_cache: Path | None = None,
        lock: Lock | None = None,
    ) -> None:
        self.config = config
        self.path = Path(lock.path) if lock is not None and lock.path else path
        self._lock = lock
        self._cache_path = hash_cache
        self._hashes: HashCache | None = None

    @property
    def lock(self) -> Lock:
        """The approvals as read (once) from :attr:`path`; WF105 when it is not valid."""
        if self._lock is None:
            self._lock = load_lock(self.path)
        return self._lock

    def save(self) -> Path:
        """Write the lock back (atomically)."""
        return save_lock(self.lock, self.path)

    def files(self, cand: Candidate) -> dict[str, str] | None:
        """``{relative path: sha256}`` of the candidate's folder now (None: it has none).

        Raises:
            IntegrityError: WF303 when the folder cannot be hashed.
        """
        from ._integrity import HashCache, TreeError, hash_tree

        root = plugin_root(cand)
        if root is None:
            return None
        if self._hashes is None:
            self._hashes = HashCache(self._cache_path)
        try:
            return hash_tree(root, self._hashes)
        except (TreeError, OSError) as exc:
            raise IntegrityError(
                f"plugin '{cand.manifest.name}': its files cannot be hashed: {exc}",
                plugin=cand.manifest.name,
                hint="check the plugin's folder",
            ) from None
        finally:
            self._hashes.save()

    def entry(self, cand: Candidate) -> LockEntry | None:
        """The lock entry that approves exactly this candidate's origin, if any."""
        entry = self.lock.get(cand.manifest.name)
        return entry if entry is not None and entry.origin == origin_of(cand) else None

    def verify(self, cand: Candidate, level: str) -> dict[str, str] | None:
        """WF303 unless a locked candidate is exactly what was approved, at ``level``.

        Returns the approved file digests (checked again as the code loads) for a locked
        plugin, None for a plugin that is not in the lock.
        """
        entry = self.entry(cand)
        if entry is None:
            return None
        name = cand.manifest.name
        files = self.files(cand) or {}
        check_entry(name, entry, cand.manifest, files, self.config.plugin(name).grant)
        if level == "trusted" and entry.level != "trusted":
            raise IntegrityError(
                f"plugin '{name}' was approved at level {entry.level}, and is now "
                "configured trusted (its code would run inside the host)",
                plugin=name,
                hint=f"approve it again at this level: wiseflow plugins grant {name}",
            )
        return entry.files

    def grant_for(self, cand: Candidate) -> Grant:
        """What the operator granted this candidate: wiseflow.toml and its lock entry."""
        grant = self.config.plugin(cand.manifest.name).grant
        entry = self.entry(cand)
        return union(grant, entry.grant()) if entry is not None else grant
