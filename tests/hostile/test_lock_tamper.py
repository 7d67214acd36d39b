"""Tampering with an approved plugin: its files change in place after `plugins grant`.

The operator approved ``tamp`` (`plugins grant tamp --all`) and ran it once. Then its folder
changes — a file edited, added (also in a sub-package and under ``tests/``), removed, a
symlink re-pointed, the manifest asking for a new secret or folder. Before identity the new
code ran with the new permissions (the grant was stored as "all", no file was hashed). Now
`wiseflow run` exits 3 with WF303 naming the file or permission, and the import marker
shows that no code of the plugin ran, sandboxed or trusted. Each attack's positive control
shows the change does take effect once the protection is lifted (revoke) or re-approved.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from identity_kit import Project, sha

from wiseflow._contract._errors import IntegrityError
from wiseflow._contract._integrity import hash_tree
from wiseflow._contract._loader import import_entry

SECRETS = {"TAMP_A": "alpha-secret", "TAMP_B": "beta-secret"}

CODE = """\
import hashlib
from pathlib import Path
from . import helper

HERE = Path(__file__).parent
VALUE = helper.VALUE if (HERE / "guard.txt").exists() else "unguarded"
try:  # optional modules: what a planted file would hook into
    from .extra import VALUE
except ImportError:
    pass
try:
    from .sub.extra import VALUE
except ImportError:
    pass
try:
    from .tests.extra import VALUE
except ImportError:
    pass

class P(ConnectorPlugin):
    def fetch(self, state):
        yield Record(id="0", source=self.ctx.name, title=VALUE,
                     text=(HERE / "link").read_text())
        for i, name in enumerate(("TAMP_A", "TAMP_B")):
            try:
                value = self.ctx.secret(name)
            except Exception:
                continue
            if value:
                yield Record(id=f"s{i}", source=self.ctx.name, title=name,
                             text=hashlib.sha256(value.encode()).hexdigest())
"""
MANIFEST = '[plugin.permissions]\nenv = ["TAMP_A"]\n'
PIPELINE = """\
[pipeline]
name = "tamper"

[[sources]]
plugin = "tamp"
"""
CLEAN = [("clean", "data"), ("TAMP_A", sha(SECRETS["TAMP_A"]))]


def approved_plugin(project: Project) -> Path:
    """``tamp`` as approved: code, a helper, a sub-package, data, a symlink, a guard file."""
    folder = project.plugin(
        "tamp", name="tamp", code=CODE, manifest_extra=MANIFEST, marker="imported",
        instances=("tamp", "info-tamp"),
    )  # fmt: skip
    (folder / "helper.py").write_text('VALUE = "clean"\n')
    (folder / "sub").mkdir()
    (folder / "sub" / "__init__.py").write_text("")
    (folder / "tests").mkdir()
    (folder / "tests" / "test_tamp.py").write_text("def test_nothing():\n    pass\n")
    (folder / "data.txt").write_text("data")
    (folder / "other.txt").write_text("other")
    (folder / "guard.txt").write_text("keep me")
    (folder / "link").symlink_to("data.txt")
    return folder


def _bump_manifest(folder: Path, line: str) -> None:
    path = folder / "plugin.toml"
    path.write_text(path.read_text() + line)


def _swap_link(folder: Path) -> None:
    (folder / "link").unlink()
    (folder / "link").symlink_to("other.txt")


# tamper -> (what WF303 must name, the change, what the tampered plugin yields when it runs)
TAMPERS: dict[str, tuple[str, Callable[[Path], object], list[tuple[str, str]]]] = {
    "change": (
        "changed: helper.py",
        lambda f: (f / "helper.py").write_text('VALUE = "evil"\n'),
        [("evil", "data"), CLEAN[1]],
    ),
    "add": (
        "added: extra.py",
        lambda f: (f / "extra.py").write_text('VALUE = "evil-extra"\n'),
        [("evil-extra", "data"), CLEAN[1]],
    ),
    "add-in-subpackage": (
        "added: sub/extra.py",
        lambda f: (f / "sub" / "extra.py").write_text('VALUE = "evil-sub"\n'),
        [("evil-sub", "data"), CLEAN[1]],
    ),
    "add-under-tests": (
        "added: tests/extra.py",
        lambda f: (f / "tests" / "extra.py").write_text('VALUE = "evil-tests"\n'),
        [("evil-tests", "data"), CLEAN[1]],
    ),
    "remove": (
        "removed: guard.txt",
        lambda f: (f / "guard.txt").unlink(),
        [("unguarded", "data"), CLEAN[1]],
    ),
    "swap-symlink": ("changed: link", _swap_link, [("clean", "other"), CLEAN[1]]),
}
BUMPS: dict[str, tuple[str, str]] = {
    "new-secret": ("env:TAMP_B", '[plugin.permissions]\nenv = ["TAMP_A", "TAMP_B"]\n'),
    "new-folder": ("fs_read:/etc", '[plugin.permissions]\nenv = ["TAMP_A"]\nfs_read = ["/etc"]\n'),
}


def approved_and_run(project: Project, level: str) -> Path:
    """Grant --all, run once cleanly (the marker works), then clear the markers."""
    project.configure(f'[plugins.tamp]\nlevel = "{level}"\n')
    folder = approved_plugin(project)
    project.pipeline(PIPELINE)
    res = project.wf("plugins", "grant", "tamp", "--all")
    assert res.returncode == 0, res.stderr
    res, doc = project.run(env=SECRETS)
    assert res.returncode == 0, doc
    assert project.records("tamp") == CLEAN
    assert Project.marks(project.data_marker("tamp", "imported"))  # the detector works
    if level == "trusted":
        assert Project.marks(project.host_marker("imported"))
    for marker in [*project.state.glob("plugins/*/imported"), project.host_marker("imported")]:
        marker.unlink(missing_ok=True)
    return folder


def assert_refused_before_import(
    project: Project, res: object, doc: dict[str, object], *named: str
) -> None:
    assert getattr(res, "returncode", None) == 3, doc
    error = doc["error"]
    assert isinstance(error, dict)
    assert error["code"] == "WF303" and error["plugin"] == "tamp"
    for what in named:
        assert what in error["message"], error
    assert "wiseflow plugins grant tamp" in error["hint"]
    assert Project.marks(project.data_marker("tamp", "imported")) == []
    assert Project.marks(project.host_marker("imported")) == []


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_changed_files_are_refused_before_any_code_runs(
    tmp_path: Path, level: str, tamper: str
) -> None:
    """An approved plugin whose files changed exits 3 (WF303 naming the file); none of it runs."""
    project = Project(tmp_path)
    folder = approved_and_run(project, level)
    named, change, tampered = TAMPERS[tamper]
    change(folder)

    res, doc = project.run(env=SECRETS)

    assert_refused_before_import(project, res, doc, named)
    # positive control: without the approval the change is what runs
    assert project.wf("plugins", "revoke", "tamp").returncode == 0
    project.configure(f'[plugins.tamp]\nlevel = "{level}"\ngrant.env = ["TAMP_A"]\n')
    res, doc = project.run(env=SECRETS)
    assert res.returncode == 0, doc
    assert project.records("tamp") == tampered


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
@pytest.mark.parametrize("bump", sorted(BUMPS))
def test_a_manifest_asking_for_more_is_refused_until_granted_again(
    tmp_path: Path, level: str, bump: str
) -> None:
    """`--all` granted what was asked then; a new secret or folder asked later is WF303."""
    project = Project(tmp_path)
    folder = approved_and_run(project, level)
    named, permissions = BUMPS[bump]
    text = (folder / "plugin.toml").read_text().replace(MANIFEST, permissions)
    (folder / "plugin.toml").write_text(text)

    res, doc = project.run(env=SECRETS)

    assert_refused_before_import(project, res, doc, named, "changed: plugin.toml")
    entry = project.lock()["plugins"]["tamp"]
    assert entry["env"] == ["TAMP_A"] and entry["fs_read"] == []  # never "all"
    # re-approval grants what the manifest asks now: the new secret reaches the plugin
    assert project.wf("plugins", "grant", "tamp", "--all").returncode == 0
    res, doc = project.run(env=SECRETS)
    assert res.returncode == 0, doc
    got = project.records("tamp")
    if bump == "new-secret":
        assert got == [*CLEAN, ("TAMP_B", sha(SECRETS["TAMP_B"]))]
    else:
        assert got == CLEAN
        assert project.lock()["plugins"]["tamp"]["fs_read"] == ["/etc"]


def test_list_shows_locked_and_verified_and_revoke_forgets(tmp_path: Path) -> None:
    """`plugins list --json` says locked/verified; grant re-approves; revoke removes the entry."""
    project = Project(tmp_path)
    folder = approved_and_run(project, "sandboxed")

    def row() -> dict[str, object]:
        (found,) = [r for r in project.rows() if r["name"] == "tamp"]
        return found

    first = row()
    assert (first["locked"], first["verified"]) == (True, True)
    info = json.loads(project.wf("plugins", "info", "tamp", "--json").stdout)
    assert info["identity"] == first["identity"]
    assert info["approved"] == {
        "version": "1.0.0", "origin": f"dir:{folder}", "level": "sandboxed",
        "manifest": project.lock()["plugins"]["tamp"]["manifest"],
        "permissions": ["env:TAMP_A"], "files": 9,
        "lock": str(project.root / "wiseflow.lock"),
    }  # fmt: skip
    assert (info["locked"], info["verified"], info["refused"]) == (True, True, [])
    (folder / "helper.py").write_text('VALUE = "evil"\n')
    changed = row()
    assert (changed["locked"], changed["verified"]) == (True, False)
    assert changed["verify_error"]["code"] == "WF303"
    assert "helper.py" in changed["verify_error"]["message"]
    assert changed["identity"]["content"] != first["identity"]["content"]

    res = project.wf("plugins", "grant", "tamp", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["lock"]["replaced"] is True
    assert (row()["locked"], row()["verified"]) == (True, True)
    res, doc = project.run(env=SECRETS)
    assert res.returncode == 0, doc
    assert project.records("tamp")[0] == ("evil", "data")
    # the re-approval kept the explicit grant of the first approval
    assert project.lock()["plugins"]["tamp"]["env"] == ["TAMP_A"]

    res = project.wf("plugins", "revoke", "tamp", "--json")
    assert json.loads(res.stdout)["revoked"] is True
    assert "tamp" not in project.lock().get("plugins", {})
    assert (row()["locked"], row()["verified"]) == (False, None)


def test_the_lock_is_sorted_reviewable_toml_with_explicit_permissions(tmp_path: Path) -> None:
    """The lock spells out what --all granted, pins every file (symlinks as links), sorted."""
    project = Project(tmp_path)
    folder = approved_plugin(project)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "plugin.cpython-311.pyc").write_bytes(b"not trusted, not hashed")
    text = (
        (folder / "plugin.toml")
        .read_text()
        .replace(
            MANIFEST,
            '[plugin.permissions]\nenv = ["TAMP_B", "TAMP_A"]\nnetwork = ["example.org:443"]\n'
            "subprocess = true\n",
        )
    )
    (folder / "plugin.toml").write_text(text)
    project.plugin("aaa", name="aaa", code="class P(ConnectorPlugin):\n    pass\n")

    for name in ("tamp", "aaa"):
        res = project.wf("plugins", "grant", name, "--all")
        assert res.returncode == 0, res.stderr

    raw = (project.root / "wiseflow.lock").read_text()
    assert '"all"' not in raw and "= all" not in raw
    assert raw.index('[plugins."aaa"]') < raw.index('[plugins."tamp"]')
    entry = project.lock()["plugins"]["tamp"]
    assert entry["origin"] == f"dir:{folder}"
    assert (entry["version"], entry["level"]) == ("1.0.0", "sandboxed")
    assert entry["env"] == ["TAMP_A", "TAMP_B"]
    assert entry["network"] == ["example.org:443"]
    assert entry["subprocess"] is True
    files = entry["files"]
    assert list(files) == sorted(files)
    expected = {"plugin.toml", "plugin.py", "helper.py", "sub/__init__.py", "tests/test_tamp.py",
                "data.txt", "other.txt", "guard.txt", "link"}  # fmt: skip
    assert set(files) == expected
    assert files["link"] == "symlink:" + hashlib.sha256(b"data.txt").hexdigest()
    assert files["plugin.py"] == hashlib.sha256((folder / "plugin.py").read_bytes()).hexdigest()
    assert entry["manifest"] == files["plugin.toml"]


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
@pytest.mark.parametrize(
    ("rel", "content"), [("helper.py", 'VALUE = "evil"\n'), ("data.txt", "DATA")]
)
def test_a_poisoned_hash_cache_cannot_vouch_for_changed_files(
    tmp_path: Path, level: str, rel: str, content: str
) -> None:
    """Rewriting the stat-stamp cache to the approved digests does not let a change through."""
    project = Project(tmp_path)
    folder = approved_and_run(project, level)
    approved = project.lock()["plugins"]["tamp"]["files"]
    (folder / rel).write_text(content)  # a module, or data the plugin reads (same size)
    # the cache trusts stamps older than its racy window: let the edit age past it
    while time.time() - os.stat(folder / rel).st_ctime < 2.5:
        time.sleep(0.5)
    cache = project.state / "cache" / "hashes.json"
    doc = json.loads(cache.read_text())
    (path,) = [p for p in doc["files"] if p.endswith(f"/tamp/{rel}")]
    st = os.lstat(path)
    doc["files"][path] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode,
                          approved[rel]]  # fmt: skip
    cache.write_text(json.dumps(doc))

    res, doc = project.run(env=SECRETS)

    assert_refused_before_import(project, res, doc, rel)


@pytest.fixture
def clean_import_state() -> Iterator[None]:
    """The loader tests import in this process: leave sys.meta_path and sys.modules as found."""
    finders, modules = list(sys.meta_path), set(sys.modules)
    yield
    sys.meta_path[:] = finders
    for name in set(sys.modules) - modules:
        del sys.modules[name]


@pytest.mark.usefixtures("clean_import_state")
def test_loader_checks_the_bytes_it_compiles(tmp_path: Path) -> None:
    """A module whose bytes differ from the approved digest is refused; its body never runs."""
    folder = tmp_path / "race"
    folder.mkdir()
    marker = tmp_path / "ran"
    (folder / "plugin.toml").write_text("")
    (folder / "plugin.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass P: pass\n")
    files = hash_tree(folder)
    files["plugin.py"] = hashlib.sha256(b"class P: pass\n").hexdigest()

    with pytest.raises(IntegrityError) as info:
        import_entry("plugin:P", plugin="race", code_root=str(folder), root=str(folder),
                     files=files)  # fmt: skip

    assert info.value.code == "WF303"
    assert "plugin.py" in info.value.message
    assert not marker.exists()


@pytest.mark.usefixtures("clean_import_state")
def test_loader_rechecks_a_file_swapped_after_the_folder_was_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TOCTOU: a module replaced between the folder check and its import is still refused."""
    import wiseflow._contract._loader as loader

    folder = tmp_path / "toctou"
    folder.mkdir()
    marker = tmp_path / "ran"
    (folder / "plugin.toml").write_text("")
    (folder / "plugin.py").write_text("class P: pass\n")
    files = hash_tree(folder)
    real_verify = loader.verify_tree

    def verify_then_swap(root: str, approved: dict[str, str], **options: Any) -> None:
        real_verify(root, approved, **options)  # passes: the folder is as approved
        (folder / "plugin.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass P: pass\n")

    monkeypatch.setattr(loader, "verify_tree", verify_then_swap)

    with pytest.raises(IntegrityError) as info:
        import_entry("plugin:P", plugin="toctou", code_root=str(folder), root=str(folder),
                     files=files)  # fmt: skip

    assert info.value.code == "WF303" and "plugin.py" in info.value.message
    assert not marker.exists()
    # positive control: with the approved bytes back (and no race), the same import works
    monkeypatch.undo()
    (folder / "plugin.py").write_text("class P: pass\n")
    cls = import_entry("plugin:P", plugin="toctou", code_root=str(folder), root=str(folder),
                       files=files)  # fmt: skip
    assert cls.__name__ == "P"


def test_hostile_file_names_neither_break_the_lock_nor_crash_grant(tmp_path: Path) -> None:
    """A DEL in a file name is pinned like any other; an undecodable name is a clear WF303."""
    project = Project(tmp_path)
    folder = approved_plugin(project)
    project.pipeline(PIPELINE)
    (folder / "odd\x7fname.txt").write_text("x")

    res = project.wf("plugins", "grant", "tamp", "--all")

    assert res.returncode == 0, res.stderr
    assert "odd\x7fname.txt" in project.lock()["plugins"]["tamp"]["files"]
    assert all(r["verified"] for r in project.rows() if r["name"] == "tamp")  # lock readable
    res, doc = project.run(env=SECRETS)
    assert res.returncode == 0, doc

    os.close(os.open(os.fsencode(folder) + b"/bad\xffname.txt", os.O_CREAT | os.O_WRONLY))
    res = project.wf("plugins", "grant", "tamp", "--json")
    assert res.returncode == 3, res.stdout + res.stderr
    error = json.loads(res.stdout)["error"]
    assert error["code"] == "WF303" and "not UTF-8" in error["message"]
    assert "Traceback" not in res.stderr
    res, doc = project.run(env=SECRETS)  # the approved entry stands; the folder differs
    assert res.returncode == 3 and doc["error"]["code"] == "WF303"
    assert not list(tmp_path.glob(".wiseflow.lock*.tmp"))


def test_a_partial_grant_approves_the_plugin_without_the_rest(tmp_path: Path) -> None:
    """`plugins grant tamp` with no permissions approves it: it runs, its secret is denied."""
    project = Project(tmp_path)
    approved_plugin(project)
    project.pipeline(PIPELINE)

    res = project.wf("plugins", "grant", "tamp")

    assert res.returncode == 0, res.stderr
    assert project.lock()["plugins"]["tamp"]["env"] == []
    (row,) = [r for r in project.rows() if r["name"] == "tamp"]
    assert (row["locked"], row["verified"]) == (True, True), row
    res, doc = project.run(env=SECRETS)
    assert res.returncode == 0, doc
    assert project.records("tamp") == CLEAN[:1]  # TAMP_A was declared, never granted


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_info_schema_never_imports_a_changed_plugin(tmp_path: Path, level: str) -> None:
    """`plugins info tamp --schema` (which imports the plugin) is WF303 once its files changed."""
    project = Project(tmp_path)
    folder = approved_and_run(project, level)
    (folder / "helper.py").write_text('VALUE = "evil"\n')

    res = project.wf("plugins", "info", "tamp", "--schema", "--json")

    assert res.returncode == 3, res.stdout + res.stderr
    assert json.loads(res.stdout)["error"]["code"] == "WF303"
    assert Project.marks(project.host_marker("imported")) == []
    assert Project.marks(project.data_marker("info-tamp", "imported")) == []
    # positive control: re-approved, the same command does import it (where its level says)
    assert project.wf("plugins", "grant", "tamp").returncode == 0
    res = project.wf("plugins", "info", "tamp", "--schema", "--json")
    assert res.returncode == 0, res.stderr
    assert "config_schema" in json.loads(res.stdout)
    host = Project.marks(project.host_marker("imported"))
    assert bool(host) is (level == "trusted")
    assert Project.marks(project.data_marker("info-tamp", "imported"))


def test_an_approval_at_sandboxed_does_not_carry_over_to_trusted(tmp_path: Path) -> None:
    """Raising an approved plugin to trusted needs a new approval before it enters the host."""
    project = Project(tmp_path)
    approved_and_run(project, "sandboxed")
    project.configure('[plugins.tamp]\nlevel = "trusted"\n')

    res, doc = project.run(env=SECRETS)

    assert_refused_before_import(project, res, doc, "approved at level sandboxed")
    assert project.wf("plugins", "grant", "tamp").returncode == 0
    res, doc = project.run(env=SECRETS)
    assert res.returncode == 0, doc
    assert project.lock()["plugins"]["tamp"]["level"] == "trusted"
    marks = Project.marks(project.host_marker("imported"))
    assert marks and all("host=True" in line for line in marks)
