"""``wiseflow.lock``: the approvals file — round trip, order, atomic writes, explicit grants."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from wiseflow import Manifest
from wiseflow._contract._errors import ConfigError, IntegrityError
from wiseflow._contract._manifest import Permissions
from wiseflow._policy._grants import Grant
from wiseflow._policy._lock import (
    Lock,
    LockEntry,
    approved_entries,
    asked_beyond,
    check_entry,
    load_lock,
    save_lock,
)

ODD_NAMES = ["plain.py", 'quote".txt', "back\\slash.txt", "new\nline.txt", "del\x7f.txt",
             "tab\t.txt", "\u00e9t\u00e9.txt", "emoji-\U0001f600.txt"]  # fmt: skip


def entry(**changes: object) -> LockEntry:
    base: dict[str, object] = {
        "version": "1.0.0",
        "origin": "dir:/srv/plugins/x",
        "level": "sandboxed",
        "manifest": "a" * 64,
        "network": ("b.example:443", "a.example:443"),
        "env": ("TOKEN",),
        "files": {"plugin.toml": "a" * 64, "b.py": "c" * 64, "a/z.py": "d" * 64},
    }
    base.update(changes)
    return LockEntry(**base)  # type: ignore[arg-type]


def manifest(**perms: object) -> Manifest:
    return Manifest(
        name="x", version="1.0.0", kind="processor", entry="plugin:P",
        permissions=Permissions(**perms),  # type: ignore[arg-type]
    )  # fmt: skip


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    """What `plugins grant` writes is exactly what the next command reads back."""
    lock = Lock(plugins={"x": entry(), "y": entry(origin="entry-point:wiseflow", env=())})
    path = save_lock(lock, tmp_path / "wiseflow.lock")
    again = load_lock(path)
    assert set(again.plugins) == {"x", "y"}
    for name in ("x", "y"):
        want, got = lock.plugins[name], again.plugins[name]
        assert got.files == want.files
        assert sorted(got.network) == sorted(want.network)
        assert (got.version, got.origin, got.level, got.manifest, got.env, got.subprocess) == (
            want.version, want.origin, want.level, want.manifest, want.env, want.subprocess,
        )  # fmt: skip
    assert again.path == str(path)


def test_odd_file_names_round_trip(tmp_path: Path) -> None:
    """Quotes, backslashes, control characters and DEL in file names never break the lock."""
    files = dict.fromkeys(ODD_NAMES, "e" * 64)
    path = save_lock(Lock(plugins={"x": entry(files=files)}), tmp_path / "wiseflow.lock")
    assert load_lock(path).plugins["x"].files == files


def test_file_is_sorted_and_spells_permissions_out(tmp_path: Path) -> None:
    """Plugins, files and permission lists appear sorted, so a diff of the lock reads well."""
    lock = Lock(plugins={"zeta": entry(), "alpha": entry()})
    text = save_lock(lock, tmp_path / "wiseflow.lock").read_text()
    assert text.index('[plugins."alpha"]') < text.index('[plugins."zeta"]')
    data = tomllib.loads(text)["plugins"]["zeta"]
    assert list(data["files"]) == sorted(data["files"])
    assert data["network"] == ["a.example:443", "b.example:443"]
    assert data["fs_read"] == [] and data["subprocess"] is False
    assert "all" not in data


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails midway leaves the previous lock intact and no temp file behind."""
    path = save_lock(Lock(plugins={"x": entry()}), tmp_path / "wiseflow.lock")
    before = path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_lock(Lock(plugins={"y": entry()}), path)
    assert path.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    # text that cannot be encoded fails before any file is opened
    bad = Lock(plugins={"x": entry(files={"bad\udcff.py": "f" * 64})})
    with pytest.raises(UnicodeEncodeError):
        save_lock(bad, path)
    assert path.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_all_is_expanded_to_what_the_manifest_asks() -> None:
    """`grant --all` records the declared list at approval time, never the word "all"."""
    m = manifest(network=("api.example:443",), env=("A", "B"), fs_read=("/data",),
                 subprocess=True)  # fmt: skip
    got = approved_entries(m, Grant(all=True))
    assert got == {
        "network": ("api.example:443",),
        "env": ("A", "B"),
        "fs_read": ("/data",),
        "fs_write": (),
        "subprocess": True,
    }


def test_explicit_grants_keep_only_what_was_given_and_placeholders() -> None:
    """Without --all only the named permissions are approved; `{field}` placeholders stay."""
    m = manifest(env=("A", "B"), fs_read=("{root}", "/etc"), network=("{urls}",))
    got = approved_entries(m, Grant(env=("B",)))
    assert got["env"] == ("B",)
    assert got["fs_read"] == ("{root}",)  # the pipeline's value is its grant
    assert got["network"] == ("{urls}",)
    assert got["subprocess"] is False
    assert approved_entries(m, Grant(all=True))["fs_read"] == ("{root}", "/etc")


def test_asking_beyond_the_approval_is_named() -> None:
    """A manifest that now asks for more than lock + wiseflow.toml grant is WF303 naming it."""
    e = entry(env=("A",), network=(), manifest="1", files={"plugin.toml": "1"})
    m = manifest(env=("A", "B"), fs_read=("/etc",), subprocess=True)
    assert asked_beyond(m, e, Grant(env=("B",))) == ["fs_read:/etc", "subprocess"]
    with pytest.raises(IntegrityError) as info:
        check_entry("x", e, m, {"plugin.toml": "2"}, Grant())
    assert info.value.code == "WF303"
    assert "changed: plugin.toml" in info.value.message
    assert "env:B, fs_read:/etc, subprocess" in info.value.message


def test_an_unchanged_manifest_with_ungranted_permissions_is_as_approved() -> None:
    """`plugins grant x --env A` approves x though it also declares B: B is just denied."""
    e = entry(env=("A",), network=(), manifest="1", files={"plugin.toml": "1"})
    check_entry("x", e, manifest(env=("A", "B"), subprocess=True), {"plugin.toml": "1"}, Grant())


def test_missing_lock_is_empty(tmp_path: Path) -> None:
    """No wiseflow.lock yet: nothing is approved, nothing fails."""
    assert load_lock(tmp_path / "wiseflow.lock").plugins == {}


@pytest.mark.parametrize(
    "text",
    [
        "[plugins.x\nversion = ",  # not TOML
        '[plugins.x]\nversion = "1"\n',  # fields missing
        '[plugins.x]\nversion = "1"\norigin = "o"\nlevel = "l"\nmanifest = "m"\nall = true\n',
        "\xff\xfe",  # not UTF-8
    ],
)
def test_malformed_lock_is_wf105_never_ignored(tmp_path: Path, text: str) -> None:
    """A damaged lock stops every command with WF105 instead of silently dropping approvals."""
    path = tmp_path / "wiseflow.lock"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_lock(path)
    assert info.value.code == "WF105"
    assert str(path) in info.value.message

    (tmp_path / "wiseflow.toml").write_text('[wiseflow]\ndata_dir = "state"\n')
    res = subprocess.run(
        [sys.executable, "-m", "wiseflow", "plugins", "list", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2, res.stdout + res.stderr
    assert '"WF105"' in res.stdout and "Traceback" not in res.stderr
