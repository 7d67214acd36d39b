"""Hashing a plugin's folder: what is recorded, the stat-stamp cache, and its limits."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

import wiseflow._contract._integrity as integrity
from wiseflow._contract._integrity import HashCache, TreeError, diff_files, hash_tree


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "plugin"
    (root / "pkg").mkdir(parents=True)
    (root / "plugin.toml").write_text("[plugin]\n")
    (root / "plugin.py").write_text("x = 1\n")
    (root / "pkg" / "mod.py").write_text("y = 2\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "plugin.cpython-311.pyc").write_bytes(b"ignored")
    return root


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat every file as settled (the real window is 2 s; tests must not sleep on it)."""
    monkeypatch.setattr(integrity, "_RACY_S", 0.0)


def test_every_file_is_hashed_but_pycache(folder: Path) -> None:
    """The digest map covers sources, data and sub-folders; Python's own caches are skipped."""
    files = hash_tree(folder)
    assert files == {
        "plugin.toml": digest(b"[plugin]\n"),
        "plugin.py": digest(b"x = 1\n"),
        "pkg/mod.py": digest(b"y = 2\n"),
    }


@pytest.mark.usefixtures("no_racy_window")
def test_cache_reuses_digests_of_unchanged_files(folder: Path, tmp_path: Path) -> None:
    """A second verification of an unchanged folder hashes nothing, even in a new process."""
    cache = HashCache(tmp_path / "hashes.json")
    first = hash_tree(folder, cache)
    assert cache.hashed == 3
    cache.save()

    again = HashCache(tmp_path / "hashes.json")  # as the next command would load it
    assert hash_tree(folder, again) == first
    assert again.hashed == 0


@pytest.mark.usefixtures("no_racy_window")
def test_cache_rehashes_a_changed_file(folder: Path) -> None:
    """Editing a file (even to the same size, with its mtime put back) is seen."""
    cache = HashCache()
    hash_tree(folder, cache)
    path = folder / "plugin.py"
    st = os.stat(path)
    path.write_text("x = 2\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime forged back; ctime moves
    files = hash_tree(folder, cache)
    assert files["plugin.py"] == digest(b"x = 2\n")
    assert cache.hashed == 4


def test_a_stamp_inside_the_racy_window_is_never_trusted(folder: Path) -> None:
    """Same size, same stamp, within one timestamp tick: the file is hashed again anyway."""
    cache = HashCache()
    path = folder / "plugin.py"
    hash_tree(folder, cache)
    path.write_text("x = 9\n")
    st = os.lstat(path)
    # what a coarse clock would give: the cached stamp equals the new one, digest stale
    cache._entries[str(path)] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                                 st.st_mode, digest(b"x = 1\n")]  # fmt: skip
    assert hash_tree(folder, cache)["plugin.py"] == digest(b"x = 9\n")


def test_symlinks_are_recorded_not_followed(folder: Path, tmp_path: Path) -> None:
    """A link is pinned by its target text; a linked folder outside is never walked."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    (folder / "to_file").symlink_to("/etc/hostname")
    (folder / "to_dir").symlink_to(outside)
    files = hash_tree(folder)
    assert files["to_file"] == "symlink:" + digest(b"/etc/hostname")
    assert files["to_dir"] == "symlink:" + digest(str(outside).encode())
    assert not any(name.startswith("to_dir/") for name in files)
    (folder / "to_file").unlink()
    (folder / "to_file").symlink_to("/etc/passwd")
    assert diff_files(files, hash_tree(folder)).changed == ["to_file"]


def test_a_fifo_is_recorded_and_never_opened(folder: Path) -> None:
    """A FIFO in the folder is a visible entry; hashing does not block reading it."""
    os.mkfifo(folder / "pipe")
    result: dict[str, str] = {}
    worker = threading.Thread(target=lambda: result.update(hash_tree(folder)), daemon=True)
    worker.start()
    worker.join(60)  # opening the FIFO would block forever: the deadline only reports it
    assert not worker.is_alive(), "hashing opened the FIFO and blocked"
    assert result["pipe"] == "fifo:unhashable"


def test_too_many_files_is_refused(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder above MAX_FILES is refused rather than hashed for minutes."""
    monkeypatch.setattr(integrity, "MAX_FILES", 5)
    for i in range(3):
        (folder / f"f{i}.txt").write_text(str(i))
    with pytest.raises(TreeError, match="more than 5 files"):
        hash_tree(folder)


def test_an_undecodable_file_name_is_refused(folder: Path) -> None:
    """A name that is not UTF-8 cannot be pinned in the TOML lock: refused, never mangled."""
    os.close(os.open(os.fsencode(folder) + b"/bad\xffname", os.O_CREAT | os.O_WRONLY))
    with pytest.raises(TreeError, match="not UTF-8"):
        hash_tree(folder)


def test_an_unreadable_cache_costs_speed_only(folder: Path, tmp_path: Path) -> None:
    """A corrupt hashes.json is ignored: everything is hashed again, correctly."""
    (tmp_path / "hashes.json").write_text("{not json")
    cache = HashCache(tmp_path / "hashes.json")
    assert hash_tree(folder, cache) == hash_tree(folder)
    assert cache.hashed == 3


def test_diff_names_added_changed_and_removed() -> None:
    """The WF303 message lists what differs, in order, shortened when long."""
    changes = diff_files({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"})
    assert (changes.added, changes.changed, changes.removed) == (["d"], ["b"], ["c"])
    assert changes.describe() == "changed: b; added: d; removed: c"
    many = diff_files({}, {f"f{i:02}": "x" for i in range(10)})
    assert many.describe(limit=2) == "added: f00, f01 and 8 more"
    assert not diff_files({"a": "1"}, {"a": "1"})
