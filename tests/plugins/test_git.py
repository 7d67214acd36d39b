"""git: commits of a real repository, incremental by the last seen commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from plugin_helpers import commit, git

PIPE = """
[pipeline]
name = "g"
[[sources]]
plugin = "git"
config = {{ repo = "{repo}", checkpoint_every = 2 }}
"""


def test_commits_become_records_with_files_and_authors(repo: Path, run: Any) -> None:
    """Every commit is stored with hash, author, email, UTC date, message and files."""
    summary, store = run(PIPE.format(repo=repo))
    assert summary.stored == 5
    recs = sorted(store.records(), key=lambda r: r.time)
    first = recs[0]
    assert first.kind == "commit"
    assert first.title == "Change 0"
    assert "Fixes #10" in first.text
    assert first.author == "Ada Lovelace"
    assert first.data["email"] == "ada@example.org"
    assert first.data["files"] == ["f0.txt"]
    assert first.time is not None
    assert first.time.isoformat() == "2024-01-15T10:00:00+00:00"
    assert store.checkpoint("git") == {"last": recs[-1].id}


def test_second_run_fetches_only_new_commits(repo: Path, run: Any) -> None:
    """After new commits, the next run fetches exactly those."""
    run(PIPE.format(repo=repo))
    commit(repo, "new.txt", "x", "Add new file", "2024-07-01T00:00:00Z")
    again, store = run(PIPE.format(repo=repo))
    assert again.fetched == 1
    assert store.count() == 6


def test_rewritten_history_refetches_everything(repo: Path, run: Any) -> None:
    """If the last seen commit vanished (history rewritten), the connector starts over."""
    _, store = run(PIPE.format(repo=repo))
    store.write_batch("git", [], None, {"last": "0" * 40})
    again, _ = run(PIPE.format(repo=repo))
    assert again.fetched == 5
    assert again.duplicates == 5


def test_not_a_repository_is_a_plugin_error(tmp_path: Path, run: Any) -> None:
    """Pointing at a folder that is not a repository fails the source with a hint."""
    empty = tmp_path / "empty"
    empty.mkdir()
    summary, _ = run(PIPE.format(repo=empty))
    assert summary.status == "failed"
    assert summary.errors[0]["hint"]


def _wf(*args: str, cwd: Path) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", "--json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


@pytest.fixture
def shared_repo() -> Iterator[Path]:
    """A real git repository (three commits) that a sandboxed worker's own uid can read.

    pytest's tmp_path sits under a folder only its owner may enter.
    """
    base = Path(tempfile.mkdtemp(prefix="wiseflow-git-"))
    try:
        os.chmod(base, 0o755)
        r = base / "repo"
        r.mkdir()
        git(r, "init", "-q", "-b", "main")
        for i in range(3):
            commit(r, f"f{i}.txt", f"v{i}\n", f"Change {i}", f"2024-0{i + 1}-15T12:00:00Z")
        yield r
    finally:
        shutil.rmtree(base)


def test_sandboxed_git_without_the_subprocess_grant_is_wf301_naming_it(
    shared_repo: Path, tmp_path: Path
) -> None:
    """Run sandboxed without `grant.subprocess`, git fails with WF301 and the grant command."""
    import json

    project = tmp_path / "project"
    project.mkdir()
    (project / "g.toml").write_text(PIPE.format(repo=shared_repo))
    proc = _wf("run", "g.toml", cwd=project)
    doc = json.loads(proc.stdout)
    assert doc["status"] == "failed", doc
    (err,) = doc["errors"]
    assert err["code"] == "WF301", err
    assert "subprocess permission it declares is not granted" in err["message"]
    assert "wiseflow plugins grant git --subprocess" in err["hint"]
    # control: once granted, the same pipeline stores every commit
    (project / "wiseflow.toml").write_text("[plugins.git]\ngrant.subprocess = true\n")
    doc = json.loads(_wf("run", "g.toml", cwd=project).stdout)
    assert (doc["status"], doc["records"]["stored"]) == ("ok", 3), doc["errors"]
