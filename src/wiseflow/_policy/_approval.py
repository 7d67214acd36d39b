"""The operator's approvals: ``wiseflow.lock``, plugin files as they are now, and the
grant each approved identity gets.

The manager owns one :class:`Approvals`; the CLI's ``grant``/``revoke``/``list``/``info``
and ``check`` use it through the manager.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .._contract._errors import IntegrityError
from .._discovery import Candidate
from ._grants import Grant, union
from ._identity import origin_of, plugin_root
from ._lock import Lock, LockEntry, check_entry, load_lock, save_lock
from ._operator import OperatorConfig

if TYPE_CHECKING:
    from .._contract._integrity import HashCache

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

    def files(
        self, cand: Candidate, *, trust_before: float | None = None, save: bool = True
    ) -> dict[str, str] | None:
        """``{relative path: sha256}`` of the candidate's folder now (None: it has none).

        ``save``: write the remembered digests back now (a caller hashing many plugins
        passes False and calls :meth:`save_hashes` once at the end).

        ``trust_before``: remembered digests count only for files unchanged since then
        (see :meth:`~wiseflow._contract._integrity.HashCache.digest`).

        Raises:
            IntegrityError: WF303 when the folder cannot be hashed.
        """
        from .._contract._integrity import HashCache, TreeError, hash_tree

        root = plugin_root(cand)
        if root is None:
            return None
        if self._hashes is None:
            self._hashes = HashCache(self._cache_path)
        try:
            return hash_tree(root, self._hashes, trust_before=trust_before)
        except (TreeError, OSError) as exc:
            raise IntegrityError(
                f"plugin '{cand.manifest.name}': its files cannot be hashed: {exc}",
                plugin=cand.manifest.name,
                hint="check the plugin's folder",
            ) from None
        finally:
            if save:
                self._hashes.save()

    def save_hashes(self) -> None:
        """Write the remembered digests back (once, after many :meth:`files` calls)."""
        if self._hashes is not None:
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
        # A digest remembered in the data dir vouches only for a file untouched since the
        # approval (written to the lock, which the data dir cannot change); a file changed
        # after it is read again every time, so an edited cache cannot hide the change.
        files = self.files(cand, trust_before=entry.approved_at() or float("-inf")) or {}
        check_entry(name, entry, cand.manifest, files, self.config.plugin(name).grant)
        if level == "trusted" and entry.level != "trusted":
            raise IntegrityError(
                f"plugin '{name}' was approved at level {entry.level}, and is now "
                "configured trusted (its code would run inside the host)",
                plugin=name,
                hint=f"approve it again at this level: wiseflow plugins grant {name}",
            )
        return entry.files

    def recheck(self, cand: Candidate) -> None:
        """The host's own look after a load failed: WF303 if the folder holds what the
        loader refuses, or (locked) is not what was approved, every byte read again.

        A loader's refusal comes back through plugin code, so it is not a verdict; this is.
        """
        root = plugin_root(cand)
        if root is None:
            return
        name = cand.manifest.name
        from .._contract._integrity import plugin_files

        for rel, _ in plugin_files(root):
            parts = rel.split("/")
            if rel.endswith((".pyc", ".pyo")):
                source = rel.rsplit(".", 1)[0] + ".py"
                if not (Path(root) / source).exists():
                    raise IntegrityError(
                        f"plugin '{name}': {rel} is bytecode without source; wiseflow never "
                        "loads bytecode from a plugin's folder",
                        plugin=name,
                        hint="ship the .py source instead",
                    )
            elif "__pycache__" in parts[:-1] and rel.endswith(".py"):
                raise IntegrityError(
                    f"plugin '{name}': {rel} is inside __pycache__; wiseflow never loads "
                    "code from there",
                    plugin=name,
                    hint="keep the plugin's modules outside __pycache__",
                )
        entry = self.entry(cand)
        if entry is not None:
            files = self.files(cand, trust_before=float("-inf")) or {}
            check_entry(name, entry, cand.manifest, files, self.config.plugin(name).grant)

    def grant_for(self, cand: Candidate) -> Grant:
        """What the operator granted this candidate: wiseflow.toml and its lock entry."""
        grant = self.config.plugin(cand.manifest.name).grant
        entry = self.entry(cand)
        return union(grant, entry.grant()) if entry is not None else grant
