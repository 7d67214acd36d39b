"""The commit journal: an install, update or remove cut short between its first and its
last write (SIGKILL, a power cut) is undone, or finished, by the next one.

The commit (see ``_apply``) renames staged folders into ``installed/``, writes
``installed.json``, then ``wiseflow.lock`` (the commit point). Before the first of these,
``<data_dir>/repository/commit.json`` records what was there: the text of
``installed.json``, the lock's path and digest, the folders being added and the
environments this change built. It is removed once the lock is written.

Found at the next install, update or remove (under the same exclusive lock):

- the lock is as it was: the change never committed: ``installed.json`` is put back, the
  added folders and built environments are removed (the host runs what it ran before);
- the lock changed: the change committed: the folders of replaced or removed plugins are
  removed, as the interrupted command would have done.

Either way, staging folders left by a killed install are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path
from typing import final

import msgspec

from .._discovery._installed import INSTALLED, Installed, load_installed, save_installed
from ._envseam import drop_envs

__all__ = ["JOURNAL", "begin", "end", "recover"]

JOURNAL = "commit.json"


@final
class Journal(msgspec.Struct, kw_only=True):
    """What a commit in progress changes (see the module docstring)."""

    installed_before: str | None  # installed.json's text before (None: there was none)
    lock_path: str
    lock_before: str  # sha256 of the lock before ("" : there was none)
    new_folders: list[str]
    built: list[str]


def _journal(data_dir: Path) -> Path:
    return data_dir / "repository" / JOURNAL


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def begin(
    data_dir: Path, root: Path, lock_path: Path, new_folders: list[str], built: list[str]
) -> None:
    """Record the state before a commit (call it before the first rename)."""
    try:
        before: str | None = (root / INSTALLED).read_text("utf-8")
    except FileNotFoundError:
        before = None
    doc = Journal(
        installed_before=before,
        lock_path=str(lock_path.resolve()),
        lock_before=_digest(lock_path),
        new_folders=list(new_folders),
        built=list(built),
    )
    path = _journal(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, msgspec.json.encode(doc))


def end(data_dir: Path) -> None:
    """The commit is complete (or was undone in the process): forget the journal."""
    _journal(data_dir).unlink(missing_ok=True)


def _folders(installed: Installed) -> set[str]:
    return {p.folder for p in installed.plugins.values()}


def recover(data_dir: Path, root: Path) -> str | None:
    """Undo or finish a commit that was cut short; what was done, or None.

    The caller holds the data dir's install lock (no other change is under way).
    """
    for leftover in root.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    path = _journal(data_dir)
    try:
        doc = msgspec.json.decode(path.read_bytes(), type=Journal)
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError):
        end(data_dir)  # written atomically: unreadable means not ours; nothing to act on
        return None
    before = Installed()
    if doc.installed_before is not None:
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            before = msgspec.json.decode(doc.installed_before, type=Installed)
    if _digest(Path(doc.lock_path)) == doc.lock_before:
        # the lock was never written: the change did not happen
        if doc.installed_before is None:
            save_installed(root, Installed())  # none before: the same as an empty one
        else:
            _write_atomic(root / INSTALLED, doc.installed_before.encode("utf-8"))
        keep = _folders(before)
        for folder in doc.new_folders:
            if folder not in keep and Path(folder).name == folder:
                shutil.rmtree(root / folder, ignore_errors=True)
        drop_envs(data_dir, doc.built)
        what = "undone"
    else:
        # committed: finish what the interrupted command would have done after it
        now = load_installed(root)
        if isinstance(now, Installed):
            for folder in _folders(before) - _folders(now):
                if Path(folder).name == folder:
                    shutil.rmtree(root / folder, ignore_errors=True)
        what = "finished"
    end(data_dir)
    return f"an install, update or remove that was interrupted was {what}"
