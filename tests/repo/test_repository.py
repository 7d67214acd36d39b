"""Acceptance of issue 13: a repository made by `wiseflow repo`, served over HTTP on
127.0.0.1, from which plugins are searched, installed, run sandboxed, updated and removed;
and every refusal leaves the installed set, the environments and the lock as they were."""

from __future__ import annotations

import sqlite3
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repo_kit import Project, serve, snapshot  # noqa: E402

from wiseflow._repo._publish import draft_path  # noqa: E402

PIPELINE = """\
[pipeline]
name = "news"

[[sources]]
plugin = "news"

[[processors]]
plugin = "textutil"
"""


def _titles(project: Project) -> list[tuple[str, str]]:
    with sqlite3.connect(project.folder / "state" / "wiseflow.db") as db:
        return sorted(db.execute("SELECT title, annotations FROM records").fetchall())


def test_search_install_run_update_and_remove(project: Project, wheels: Path) -> None:
    """A plugin and its dependency install from the repository, run sandboxed in a
    pipeline, update (new permissions wait for a grant) and are removed in order."""
    code, doc = project.json("plugins", "search", "news")
    assert code == 0
    assert [p["name"] for p in doc["plugins"]] == ["news"]  # type: ignore[index]

    code, doc = project.json("plugins", "install", "news", "--yes")
    assert code == 0, doc
    got = {d["name"]: d for d in doc["installed"]}  # type: ignore[attr-defined]
    assert set(got) == {"news", "textutil"}
    origin = f"repo:{project.url}"
    assert got["news"]["origin"] == origin
    assert got["news"]["granted"] == ["network:example.org:443"]
    lock = (project.folder / "wiseflow.lock").read_text()
    assert f'origin = "{origin}"' in lock and '"plugin.py" = "' in lock

    (project.folder / "p.toml").write_text(PIPELINE)
    code, out, err = project.wf("run", "p.toml")
    assert code == 0, err
    titles = _titles(project)
    assert [t for t, _ in titles] == ["NEWS 1.0.0 #0", "NEWS 1.0.0 #1", "NEWS 1.0.0 #2"]
    assert all('"textutil":"1.0.0"' in a for _, a in titles)
    code, doc = project.json("plugins", "info", "news")
    assert code == 0 and doc["level"] == "sandboxed", doc

    project.publisher("add", str(project.served), str(wheels / "wfp_news-1.1.0-py3-none-any.whl"))
    project.publisher("publish", str(project.served))
    code, doc = project.json("plugins", "update")
    assert code == 0, doc
    (news,) = doc["installed"]  # type: ignore[misc]
    assert (news["name"], news["version"], news["replaced"]) == ("news", "1.1.0", "1.0.0")
    assert news["waiting"] == ["network:api.example.org:443"]
    assert news["granted"] == ["network:example.org:443"]  # the old grant, nothing more
    assert not (project.folder / "state" / "installed" / "news-1.0.0").exists()
    code, out, err = project.wf("run", "p.toml", "--full-refresh")
    assert code == 0, err
    assert "NEWS 1.1.0 #0" in [t for t, _ in _titles(project)]

    before = snapshot(project.folder)
    code, out, err = project.wf("plugins", "remove", "textutil")
    assert code == 2 and "error WF201" in err and "news" in err
    assert snapshot(project.folder) == before
    for name in ("news", "textutil"):
        code, out, err = project.wf("plugins", "remove", name)
        assert code == 0, err
    assert "[plugins." not in (project.folder / "wiseflow.lock").read_text()
    installed = project.folder / "state" / "installed"
    assert sorted(p.name for p in installed.iterdir()) == ["installed.json"]


def _resign_timestamp(served: Path, key: Path | None, *, expired: bool = False) -> None:
    """Bump timestamp.json's version and sign it with ``key`` (None: a stranger's key);
    ``expired``: its expiry in the past."""
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata, Timestamp

    path = served / "metadata" / "timestamp.json"
    md = Metadata[Timestamp].from_file(str(path))
    md.signed.version += 1
    if expired:
        md.signed.expires = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    md.signatures.clear()
    if key is None:
        signer = CryptoSigner.generate_ed25519()
    else:
        signer = CryptoSigner(load_pem_private_key(key.read_bytes(), password=None))  # type: ignore[arg-type]
    md.sign(signer)
    md.to_file(str(path))


def test_signature_refusals_leave_everything_unchanged(project: Project) -> None:
    """A tampered wheel (WF603), metadata signed by an untrusted key (WF304), a rollback
    to older signed metadata and expired metadata (a freeze, WF304) are refused, each
    with a positive control, and leave the installed set, environments and lock as they
    were."""
    code, out, err = project.wf("plugins", "install", "textutil")
    assert code == 0, err  # control: the untouched wheel installs
    before = snapshot(project.folder)

    (wheel,) = (project.served / "targets").glob("*.wfp_news-1.0.0-py3-none-any.whl")
    good = wheel.read_bytes()
    wheel.write_bytes(good[:-30] + bytes(b ^ 0xFF for b in good[-30:]))
    code, out, err = project.wf("plugins", "install", "news", "--yes")
    assert code == 3 and "error WF603" in err, err
    assert snapshot(project.folder) == before
    wheel.write_bytes(good)

    timestamp = project.served / "metadata" / "timestamp.json"
    old = timestamp.read_bytes()
    keys = project.served.with_name("served.keys")
    _resign_timestamp(project.served, keys / "timestamp.pem")
    code, out, err = project.wf("plugins", "search", "")
    assert code == 0, err  # control: a newer timestamp signed by the real key is taken
    newer = timestamp.read_bytes()

    _resign_timestamp(project.served, None)
    code, out, err = project.wf("plugins", "install", "news", "--yes")
    assert code == 3 and "error WF304" in err and "not signed by the keys" in err, err
    assert snapshot(project.folder) == before

    timestamp.write_bytes(old)  # validly signed, but older than what the host saw
    code, out, err = project.wf("plugins", "install", "news", "--yes")
    assert code == 3 and "error WF304" in err and "rollback" in err, err
    assert snapshot(project.folder) == before

    timestamp.write_bytes(newer)
    _resign_timestamp(project.served, keys / "timestamp.pem", expired=True)
    code, out, err = project.wf("plugins", "install", "news", "--yes")
    assert code == 3 and "error WF304" in err and "expired" in err, err  # a freeze
    assert snapshot(project.folder) == before

    timestamp.write_bytes(newer)
    code, out, err = project.wf("plugins", "install", "news", "--yes")
    assert code == 0, err  # the host survived all of it and installs once the repo is sound


def test_other_refusals_leave_everything_unchanged(project: Project) -> None:
    """Unknown plugin (WF602), unreachable server (WF601 naming the URL), a yanked and a
    blocklisted version (WF602) are refused without changing anything."""
    code, out, err = project.wf("plugins", "install", "textutil")
    assert code == 0, err
    before = snapshot(project.folder)

    code, out, err = project.wf("plugins", "install", "newz")
    assert code == 2 and "error WF602" in err and "news" in err, err  # did you mean
    assert snapshot(project.folder) == before

    with serve(project.served) as gone:
        pass  # the port is closed again: nothing listens there
    project.write_config(gone)
    code, doc = project.json("plugins", "install", "news")
    assert code == 2 and doc["error"]["code"] == "WF601", doc  # type: ignore[index]
    assert gone in doc["error"]["message"]  # type: ignore[index]
    assert snapshot(project.folder) == before
    project.write_config(project.url)

    served = str(project.served)
    hostile = "drops records\x1b]8;;https://evil.example\x07 [link=https://evil.example]x"
    project.publisher("yank", served, "news", "1.0.0", "--reason", hostile)
    project.publisher("publish", served)
    assert "\\u001b]8;;" in draft_path(project.served).read_text()  # control: it is signed
    code, out, err = project.wf("plugins", "install", "news")
    assert code == 2 and "error WF602" in err and "yanked: drops records" in err, err
    assert "\x1b" not in err and "\x07" not in err  # the publisher's text is data
    assert snapshot(project.folder) == before

    project.publisher("block", served, "news", "--reason", "exfiltrates tokens")
    project.publisher("publish", served)
    code, out, err = project.wf("plugins", "install", "news==1.0.0", "--allow-yanked")
    assert code == 2 and "blocklisted: exfiltrates tokens" in err, err
    assert snapshot(project.folder) == before


def test_a_declined_prompt_installs_with_nothing_granted(project: Project) -> None:
    """Without --yes and without a terminal to ask on, nothing is granted: the plugin is
    installed and approved, and the permissions it asked for are named as waiting."""
    code, doc = project.json("plugins", "install", "news")
    assert code == 0, doc
    news = next(d for d in doc["installed"] if d["name"] == "news")  # type: ignore[attr-defined]
    assert news["granted"] == [] and news["waiting"] == ["network:example.org:443"]
    lock = (project.folder / "wiseflow.lock").read_text()
    assert "network = []" in lock
    code, out, err = project.wf("plugins", "grant", "news", "--all")
    assert code == 0 and "network:example.org:443" in out, err
    code, doc = project.json("plugins", "install", "news")
    assert code == 0 and doc["installed"] == [], doc  # installed already: nothing changes


def _listed(project: Project, name: str) -> tuple[object, object]:
    """``plugins list --json``: the ``blocked`` field and the status of ``name``'s row."""
    code, doc = project.json("plugins", "list")
    assert code == 0, doc
    row = next(r for r in doc["plugins"] if r["name"] == name)  # type: ignore[attr-defined]
    return row["blocked"], row["status"]


def test_an_installed_plugin_blocklisted_later_is_disabled_at_start(project: Project) -> None:
    """The kill switch: once the repository blocklists an installed plugin, the host
    refuses to start it and says why; a yanked exact pin installs with --allow-yanked."""
    served = str(project.served)
    project.publisher("yank", served, "textutil", "1.0.0", "--reason", "superseded")
    project.publisher("publish", served)
    code, out, err = project.wf("plugins", "install", "textutil==1.0.0", "--allow-yanked")
    assert code == 0, err  # control: an exact pin may take a yanked version
    pipeline = project.folder / "p.toml"
    pipeline.write_text(
        textwrap.dedent(
            """\
            [pipeline]
            name = "k"
            [[sources]]
            plugin = "hello"
            [[processors]]
            plugin = "textutil"
            """
        )
    )
    code, out, err = project.wf("run", "p.toml")
    assert code == 0, err  # control: it runs before the block
    assert _listed(project, "textutil") == (None, "available")  # control: not marked
    project.publisher("block", served, "textutil", "<2", "--reason", "CVE-0000-1")
    project.publisher("publish", served)
    code, out, err = project.wf("plugins", "search", "")  # the operator refreshes
    assert code == 0, err
    # `plugins list` marks it: a field in --json, the state and WF300 in the table
    assert _listed(project, "textutil") == ("CVE-0000-1", "blocked")
    code, out, err = project.wf("plugins", "list")
    assert code == 0, err
    row = next(line for line in out.splitlines() if "textutil" in line)
    assert "blocked" in row and "WF300" in row, out
    code, doc = project.json("run", "p.toml")
    assert code == 3, doc
    error = doc.get("error") or doc["errors"][0]  # type: ignore[index]
    assert error["code"] == "WF300" and "CVE-0000-1" in error["message"], doc  # type: ignore[index]


def test_require_signature_admits_plugins_installed_from_the_signed_repository(
    project: Project,
) -> None:
    """`[policy] require_signature = true`: plugins installed from the TUF repository (and
    verified against their lock entry) run; a plugin from anywhere else is still WF304."""
    code, doc = project.json("plugins", "install", "news", "--yes")
    assert code == 0, doc
    config = project.folder / "wiseflow.toml"
    config.write_text(config.read_text() + "\n[policy]\nrequire_signature = true\n")
    (project.folder / "p.toml").write_text(PIPELINE)
    code, out, err = project.wf("run", "p.toml")
    assert code == 0, err
    assert len(_titles(project)) == 3
    (project.folder / "q.toml").write_text(PIPELINE.replace('plugin = "news"', 'plugin = "hello"'))
    code, doc = project.json("run", "q.toml")  # control: a bundled plugin is not signed
    assert code == 3, doc
    error = doc.get("error") or doc["errors"][0]  # type: ignore[index]
    assert error["code"] == "WF304" and "hello" in error["message"], doc  # type: ignore[index]


def _served_files(served: Path) -> list[str]:
    """Every file of the served tree that is not TUF metadata or a target (should be none)."""
    out = []
    for path in sorted(served.rglob("*")):
        rel = path.relative_to(served).as_posix()
        if path.is_dir() and rel in ("metadata", "targets"):
            continue
        kind = rel.split("/", 1)[0]
        ok = (kind == "metadata" and rel.endswith(".json")) or (
            kind == "targets" and len(rel.split("/")) == 2 and len(rel[8:].split(".", 1)[0]) == 64
        )
        if not ok:
            out.append(rel)
    return out


def test_the_served_tree_holds_only_tuf_metadata_and_targets(
    project: Project, wheels: Path
) -> None:
    """Drafts stay out of what is served: after add, yank, block and publish (and when a
    draft an earlier version left inside is next read) only metadata and targets are
    there; the unpublished block's reason is not fetchable over HTTP."""
    served = str(project.served)
    legacy = project.served / "draft.json"
    draft_path(project.served).replace(legacy)  # as earlier versions kept it: served
    assert _served_files(project.served) == ["draft.json"]  # control: the check sees it
    with urllib.request.urlopen(project.url + "draft.json", timeout=30) as res:  # noqa: S310
        assert b'"plugins"' in res.read()  # control: served, anyone could read it
    project.publisher("add", served, str(wheels / "wfp_news-1.1.0-py3-none-any.whl"))
    assert not legacy.exists() and draft_path(project.served).is_file()  # moved out, kept
    project.publisher("yank", served, "news", "1.0.0", "--reason", "superseded")
    project.publisher("block", served, "textutil", "<1", "--reason", "embargoed CVE")
    assert _served_files(project.served) == []
    assert "embargoed CVE" in draft_path(project.served).read_text()  # pending, unserved
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(project.url + "draft.json", timeout=30)  # noqa: S310
    info.value.close()
    assert info.value.code == 404
    project.publisher("publish", served)
    assert _served_files(project.served) == []
    code, out, err = project.wf("plugins", "search", "news")
    assert code == 0 and "1.1.0" in out, err  # the published draft reached the clients
