"""Hostile wheels are refused before a byte lands outside the staging folder, and a commit
that fails half-way leaves plugins and lock as they were (in-process, no server)."""

from __future__ import annotations

import stat
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repo_kit import make_wheel  # noqa: E402

from wiseflow._contract._errors import RepositoryError, exit_code_for
from wiseflow._repo._wheel import read_wheel, unpack_wheel


def _evil(tmp_path: Path, name: str, *, link: bool = False, size: int = 0) -> Path:
    """A good plugin wheel plus one hostile member ``name``."""
    good = make_wheel(tmp_path / "good", "evil", "1.0.0")
    path = tmp_path / "evil.whl"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info))
        info = zipfile.ZipInfo(name)
        if link:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        out.writestr(info, b"/etc/passwd" if link else b"x" * size)
    return path


@pytest.mark.parametrize(
    ("member", "kw", "what"),
    [
        ("../escaped.py", {}, "outside the plugin"),
        ("/tmp/absolute.py", {}, "outside the plugin"),
        ("wfp_evil/..\\..\\win.py", {}, "outside the plugin"),
        ("wfp_evil/link.py", {"link": True}, "link or special file"),
    ],
)
def test_hostile_members_are_refused_and_nothing_is_written(
    tmp_path: Path, member: str, kw: dict[str, bool], what: str
) -> None:
    """Path traversal, absolute paths, backslashes and symlinks: WF603, nothing unpacked."""
    wheel = _evil(tmp_path, member, **kw)
    with pytest.raises(RepositoryError) as err:
        read_wheel(wheel)
    assert err.value.code == "WF603" and what in err.value.message
    assert exit_code_for(err.value.code) == 3
    dest = tmp_path / "stage" / "evil-1.0.0"
    with pytest.raises(RepositoryError):
        unpack_wheel(wheel, dest)
    assert not (tmp_path / "escaped.py").exists() and not list(dest.rglob("*.py"))


def test_a_good_wheel_unpacks_as_a_plugin_folder(tmp_path: Path) -> None:
    """Control: the same wheel without the hostile member reads and unpacks."""
    wheel = make_wheel(tmp_path / "good", "fine", "1.0.0", requires_dist=("attrs>=22",))
    info = read_wheel(wheel)
    assert (info.manifest.name, info.folder, info.requires_dist) == (
        "fine", "wfp_fine", ("attrs>=22",),
    )  # fmt: skip
    unpack_wheel(wheel, tmp_path / "out")
    assert (tmp_path / "out" / "wfp_fine" / "plugin.toml").is_file()


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    """A member declaring more than the per-file limit is refused before it is inflated."""
    from wiseflow._repo import _wheel

    wheel = _evil(tmp_path, "wfp_evil/big.bin", size=1 << 20)
    old = _wheel.MAX_FILE
    _wheel.MAX_FILE = 1 << 19  # the real limit is 64 MiB: the rule, not the number, is tested
    try:
        with pytest.raises(RepositoryError) as err:
            read_wheel(wheel)
    finally:
        _wheel.MAX_FILE = old
    assert "larger than" in err.value.message


def test_a_failed_commit_restores_plugins_and_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock write (the last step) fails: the new folder and installed.json are undone."""
    from wiseflow._discovery import Candidate
    from wiseflow._discovery._installed import load_installed
    from wiseflow._policy._lock import Lock, LockEntry, save_lock
    from wiseflow._repo import _apply
    from wiseflow._repo._index import VersionEntry
    from wiseflow._repo._plan import Plan
    from wiseflow._repo._wheel import read_wheel as read

    wheel = make_wheel(tmp_path / "w", "fresh", "1.0.0")
    info = read(wheel)
    entry = VersionEntry(wheel=wheel.name, manifest=info.manifest_text, kind="connector")
    cand = Candidate(manifest=info.manifest, origin="repo", location="file:///r/")

    class Local:  # a client whose "download" copies the verified wheel
        url = "file:///r/"

        def download(self, target: str, dest: Path) -> Path:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(wheel.read_bytes())
            return dest

    data = tmp_path / "state"
    lock = Lock(path=str(tmp_path / "wiseflow.lock"))
    lock.plugins["kept"] = LockEntry(version="1", origin="dir:/x", level="sandboxed", manifest="0")
    save_lock(lock)
    before = (tmp_path / "wiseflow.lock").read_bytes()

    def broken(*a: object, **kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_apply, "save_lock", broken)
    with pytest.raises(OSError, match="disk full"):
        _apply.apply_plan(
            Plan(add=((cand, entry),)), client=Local(), data_dir=data, lock=lock,  # type: ignore[arg-type]
            level_for=lambda n: "sandboxed", origins={}, decide=lambda s: {},
        )  # fmt: skip
    assert (tmp_path / "wiseflow.lock").read_bytes() == before
    assert sorted(p.name for p in (data / "installed").iterdir()) == ["installed.json"]
    assert load_installed(data / "installed").plugins == {}  # type: ignore[union-attr]
    assert list(lock.plugins) == ["kept"]

    monkeypatch.undo()  # control: the same plan commits when the lock can be written
    _apply.apply_plan(
        Plan(add=((cand, entry),)), client=Local(), data_dir=data, lock=lock,  # type: ignore[arg-type]
        level_for=lambda n: "sandboxed", origins={}, decide=lambda s: {},
    )  # fmt: skip
    assert (data / "installed" / "fresh-1.0.0" / "wfp_fresh" / "plugin.toml").is_file()
    assert "fresh" in (tmp_path / "wiseflow.lock").read_text()

    import fcntl
    import os

    fd = os.open(data / "repository" / "install.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another install is under way
    try:
        with pytest.raises(RepositoryError) as err:
            _apply.apply_plan(
                Plan(drop=("fresh",)), client=Local(), data_dir=data, lock=lock,  # type: ignore[arg-type]
                level_for=lambda n: "sandboxed", origins={}, decide=lambda s: {},
            )  # fmt: skip
    finally:
        os.close(fd)
    assert "another install" in err.value.message
    assert (data / "installed" / "fresh-1.0.0").is_dir()  # nothing was removed


def test_an_unreachable_repository_exits_2() -> None:
    """SPEC §14: WF601 is bad input (exit 2), naming the URL."""
    assert exit_code_for("WF601") == 2


def test_repository_section_and_the_old_index_alias(tmp_path: Path) -> None:
    """[repository] url wins; [wiseflow] index is its old spelling; unknown keys are WF105."""
    from wiseflow._contract._errors import ConfigError
    from wiseflow._policy._operator import load_operator_config
    from wiseflow._repo._client import normalise_url

    cfg = tmp_path / "wiseflow.toml"
    cfg.write_text('[wiseflow]\nindex = "https://Old.Example/idx"\n')
    assert load_operator_config(cfg).repository_url == "https://Old.Example/idx"
    cfg.write_text(
        '[wiseflow]\nindex = "https://old.example/"\n'
        '[repository]\nurl = "https://New.Example/r"\nroot = "keys/root.json"\n'
        'find_links = ["wheels/"]\n'
    )
    loaded = load_operator_config(cfg)
    assert loaded.repository_url == "https://New.Example/r"
    assert loaded.repository.find_links == ("wheels/",)
    assert normalise_url(loaded.repository_url) == "https://new.example/r/"
    assert normalise_url("served", tmp_path) == f"file://{tmp_path}/served/"
    cfg.write_text('[repository]\nurl = "x"\nmirror = "y"\n')
    with pytest.raises(ConfigError) as err:
        load_operator_config(cfg)
    assert err.value.code == "WF105" and "mirror" in err.value.message


def test_the_host_loads_python_tuf_only_for_repository_commands() -> None:
    """Starting plugins (the manager and its kill switch) never imports tuf or cryptography."""
    import subprocess

    code = (
        "import sys, wiseflow._host._manager, wiseflow._cli._install, wiseflow._cli._repo; "
        "print(sorted(m.split('.')[0] for m in sys.modules "
        "if m.split('.')[0] in ('tuf', 'securesystemslib', 'cryptography')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
