"""Carrying out a plan: stage everything, then commit with renames and two atomic writes.

1. Stage (``<data_dir>/installed/.staging-*``): each wheel is downloaded through TUF
   (verified before it is written), read, compared with the manifest the index published,
   unpacked safely, its environment prepared; its files hashed.
2. Decide the grants (the caller's prompt) — still nothing changed.
3. Commit: rename the staged folders into place, write ``installed.json`` (atomic), then
   ``wiseflow.lock`` (atomic, last). A failure undoes the earlier steps, so plugins,
   environments and lock stay as they were.
4. Only then delete the folders of replaced or removed plugins.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, final

import msgspec

from .._contract._errors import ManifestError, RepositoryError
from .._contract._integrity import TreeError, hash_tree
from .._discovery import Candidate
from .._discovery._folders import import_root
from .._discovery._installed import (
    Installed,
    InstalledPlugin,
    load_installed,
    save_installed,
)
from .._envs import EnvSources, PythonEnv
from .._policy._grants import Grant
from .._policy._lock import LOCK_NAME, Lock, LockEntry, approved_entries, asked_beyond, save_lock
from ._client import Client
from ._envseam import drop_envs, prepare_env, release_envs
from ._index import VersionEntry
from ._journal import begin, end, recover
from ._plan import Plan
from ._wheel import read_wheel, unpack_wheel

__all__ = ["Outcome", "Staged", "apply_plan", "recover_interrupted"]


@final
class Staged(msgspec.Struct, kw_only=True):
    """One plugin ready to be committed."""

    cand: Candidate
    entry: VersionEntry
    folder: str  # <name>-<version>
    plugin: str  # the plugin folder inside it
    files: dict[str, str]
    wheel: str
    old: LockEntry | None = None
    python: PythonEnv | None = None  # its own environment, recorded in the lock

    @property
    def name(self) -> str:
        return self.cand.manifest.name

    @property
    def version(self) -> str:
        return self.cand.manifest.version

    def waiting(self, entry: LockEntry) -> list[str]:
        """Permissions this version asks for that ``entry`` (its approval) does not grant:
        declined at the prompt, or new in an update (which keeps the old grant)."""
        return asked_beyond(self.cand.manifest, entry, Grant())


@final
class Outcome(msgspec.Struct, kw_only=True):
    """What changed: installed (name, version, granted, waiting) and removed names."""

    installed: list[dict[str, Any]] = msgspec.field(default_factory=list)
    removed: list[str] = msgspec.field(default_factory=list)


def _stage_one(
    client: Client, staging: Path, cand: Candidate, entry: VersionEntry, data_dir: Path,
    sources: EnvSources | None, built: list[str], said: Callable[[str], None] | None,
) -> Staged:  # fmt: skip
    name, version = cand.manifest.name, cand.manifest.version
    wheel = staging / "wheels" / f"{name}-{version}.whl"  # never a name the index chose
    client.download(entry.wheel, wheel)  # TUF: length and hash checked before it is written
    import hashlib

    digest = "sha256:" + hashlib.sha256(wheel.read_bytes()).hexdigest()
    info = read_wheel(wheel, label=entry.wheel)
    if info.manifest_text != entry.manifest:
        raise RepositoryError(
            f"the wheel {entry.wheel} holds another plugin.toml than the signed index says",
            plugin=name,
            code="WF603",
            hint="the repository is inconsistent; tell its publisher",
        )
    folder = f"{name}-{version}"
    unpack_wheel(wheel, staging / folder, label=entry.wheel)
    plugin_dir = staging / folder / info.folder
    top = cand.manifest.entry.split(":")[0].split(".")[0]
    # beside plugin.toml (a plugin folder), or plugin.toml inside the package (``plugins new``)
    root = import_root(plugin_dir, cand.manifest.entry)
    if not ((root / f"{top}.py").is_file() or (root / top / "__init__.py").is_file()):
        raise ManifestError(
            f"the wheel {entry.wheel} has no module {top!r} beside its plugin.toml or holding it",
            plugin=name,
            hint="a plugin wheel holds one plugin folder: plugin.toml and its modules",
        )
    try:
        files = hash_tree(str(plugin_dir))
    except TreeError as exc:
        raise RepositoryError(f"the wheel {entry.wheel}: {exc}", plugin=name) from None
    python = prepare_env(
        info.requires_dist, data_dir, sources, name=name, built=built, progress=said
    )
    return Staged(
        cand=cand, entry=entry, folder=folder, plugin=info.folder, files=files, wheel=digest,
        python=python,
    )  # fmt: skip


def _entry(s: Staged, url: str, level: str, grant: Grant, requires: dict[str, str]) -> LockEntry:
    return LockEntry(
        version=s.version,
        origin=f"repo:{url}",
        level=level,
        manifest=s.files["plugin.toml"],
        files=s.files,
        approved=datetime.now(UTC).isoformat(),
        requires=requires,
        python=s.python,
        **approved_entries(s.cand.manifest, grant),
    )


def apply_plan(
    plan: Plan,
    *,
    client: Client,
    data_dir: Path,
    lock: Lock,
    level_for: Callable[[str], str],
    origins: dict[str, str],
    decide: Callable[[list[Staged]], dict[str, Grant]],
    sources: EnvSources | None = None,
    said: Callable[[str], None] | None = None,
) -> Outcome:
    """Stage ``plan``, ask ``decide`` for the grants of new plugins, and commit.

    Args:
        origins: the origin of every plugin on this host now (dependencies' origins are
            pinned in each lock entry).
        decide: new plugin name -> the grant (the permission prompt); an updated plugin
            keeps its old grant and is not asked.
        sources: where plugins' Python packages come from.
        said: progress lines of environment builds.
    """
    root = data_dir / "installed"
    root.mkdir(parents=True, exist_ok=True)
    with _exclusive(data_dir / "repository"):
        recover(data_dir, root)
        return _apply(plan, root, client, data_dir, lock, level_for, origins, decide, sources, said)


def recover_interrupted(data_dir: Path) -> str | None:
    """Undo or finish an install, update or remove that was cut short (see ``_journal``);
    what was done, or None. Skipped while another one is under way."""
    root = data_dir / "installed"
    if not root.is_dir():
        return None
    try:
        with _exclusive(data_dir / "repository"):
            return recover(data_dir, root)
    except RepositoryError:
        return None  # another install holds the lock: its journal is not stale


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """One install, update or remove at a time per data dir (never waits: says so)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "install.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RepositoryError(
                f"another install, update or remove is changing {folder.parent}",
                plugin=str(folder.parent),
                hint="wait for it to finish, then try again",
            ) from None
        yield
    finally:
        os.close(fd)


def _apply(
    plan: Plan,
    root: Path,
    client: Client,
    data_dir: Path,
    lock: Lock,
    level_for: Callable[[str], str],
    origins: dict[str, str],
    decide: Callable[[list[Staged]], dict[str, Grant]],
    sources: EnvSources | None,
    said: Callable[[str], None] | None,
) -> Outcome:
    current = load_installed(root)
    if not isinstance(current, Installed):
        raise RepositoryError(current.message, plugin=current.file, hint=current.hint)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    moved: list[Path] = []
    built: list[str] = []  # environments this change built (removed again if it fails)
    try:
        staged = [
            _stage_one(client, staging, cand, entry, data_dir, sources, built, said)
            for cand, entry in plan.add
        ]
        for s in staged:
            s.old = lock.plugins.get(s.name) if s.name in current.plugins else None
        grants = decide([s for s in staged if s.old is None])
        new_installed = Installed(plugins=dict(current.plugins))
        new_lock = Lock(plugins=dict(lock.plugins), path=lock.path)
        url = client.url
        origin_now = dict(origins)
        for s in staged:
            origin_now[s.name] = f"repo:{url}"
        for s in staged:
            new_installed.plugins[s.name] = InstalledPlugin(
                version=s.version, folder=s.folder, plugin=s.plugin, url=url, wheel=s.wheel
            )
            grant = s.old.grant() if s.old is not None else grants.get(s.name, Grant())
            requires = {
                r.name: origin_now[r.name] for r in s.cand.manifest.requires if r.name in origin_now
            }
            new_lock.plugins[s.name] = _entry(s, url, level_for(s.name), grant, requires)
        for name in plan.drop:
            new_installed.plugins.pop(name, None)
            new_lock.plugins.pop(name, None)
        # -- commit ------------------------------------------------------------------------
        begin(data_dir, root, Path(lock.path or LOCK_NAME), [s.folder for s in staged], built)
        for s in staged:
            dest = root / s.folder
            if dest.exists():
                if s.name in current.plugins and current.plugins[s.name].folder == s.folder:
                    raise RepositoryError(
                        f"{s.name} {s.version} is already installed", plugin=s.name
                    )
                shutil.rmtree(dest)  # leftovers of an install that never committed
            (staging / s.folder).rename(dest)
            moved.append(dest)
        save_installed(root, new_installed)
        try:
            save_lock(new_lock)
        except BaseException:
            save_installed(root, current)
            raise
    except BaseException:
        for path in moved:
            shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        drop_envs(data_dir, built)
        recover(data_dir, root)  # what the journal says was there before, if it got that far
        raise
    shutil.rmtree(staging, ignore_errors=True)
    lock_before = list(lock.plugins.values())
    gone = [current.plugins[n] for n in plan.drop if n in current.plugins]
    gone += [current.plugins[s.name] for s in staged if s.name in current.plugins]
    for old in gone:
        shutil.rmtree(root / old.folder, ignore_errors=True)
    end(data_dir)
    lock.plugins = new_lock.plugins
    release_envs(data_dir, lock_before, new_lock.plugins.values())
    out = Outcome(removed=list(plan.drop))
    for s in staged:
        entry = new_lock.plugins[s.name]
        out.installed.append({
            "name": s.name, "version": s.version, "origin": entry.origin,
            "replaced": current.plugins[s.name].version if s.name in current.plugins else None,
            "granted": entry.permissions(), "waiting": s.waiting(entry),
            "files": len(s.files),
        })  # fmt: skip
    return out
