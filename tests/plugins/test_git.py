"""git: commits of a real repository, incremental by the last seen commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugin_helpers import commit

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
