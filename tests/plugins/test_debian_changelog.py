"""debian-changelog: one record per entry, malformed entries skipped, mtime checkpoints."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wiseflow.plugins.debian_changelog._parse import Entry, parse_changelog

PIPE = """
[pipeline]
name = "deb"
batch_size = 50
[[sources]]
plugin = "debian-changelog"
name = "cl"
config = {{ root = "{root}" }}
"""


def test_every_wellformed_entry_becomes_a_record(changelogs: tuple[Path, int], run: Any) -> None:
    """All entries of the generated tree are stored with the documented fields; bad ones skipped."""
    root, expected = changelogs
    summary, store = run(PIPE.format(root=root))
    assert summary.status == "ok"
    assert store.count() == expected
    rec = next(r for r in store.records() if r.id == "pkg001/1.3-1")
    assert rec.kind == "changelog-entry"
    assert set(rec.data) >= {
        "package",
        "version",
        "distribution",
        "urgency",
        "author",
        "email",
        "date",
    }
    assert rec.data["package"] == "pkg001"
    assert rec.data["distribution"] == "unstable"
    assert rec.time is not None
    assert rec.time.tzinfo is not None
    assert "Closes: #100103" in rec.text
    assert not any("broken" in r.id for r in store.records())


def test_rerun_with_nothing_changed_fetches_nothing(changelogs: tuple[Path, int], run: Any) -> None:
    """The mtime checkpoint makes a second run read no file and store nothing."""
    root, expected = changelogs
    run(PIPE.format(root=root))
    again, store = run(PIPE.format(root=root))
    assert again.fetched == 0
    assert store.count() == expected


def test_changed_file_is_read_again_and_new_entry_stored(
    changelogs: tuple[Path, int], run: Any
) -> None:
    """Touching one changelog with a new entry stores just that entry; the rest are duplicates."""
    root, expected = changelogs
    run(PIPE.format(root=root))
    path = root / "pkg002" / "changelog.Debian.gz"
    old = gzip.decompress(path.read_bytes()).decode()
    new = (
        "pkg002 (9.9-1) unstable; urgency=high\n\n  * Fix CVE-2024-9999.\n\n"
        " -- Alice Maintainer <alice@debian.org>  Mon, 01 Jul 2024 10:00:00 +0000\n\n"
    )
    path.write_bytes(gzip.compress((new + old).encode()))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    again, store = run(PIPE.format(root=root))
    assert again.stored == 1
    assert again.duplicates == 20
    assert store.count() == expected + 1


def test_parser_skips_malformed_entries_and_parses_dates_to_utc() -> None:
    """Truncated entries and bad trailers are reported as skips; dates become UTC."""
    text = (
        "a (1.0-1) unstable; urgency=medium\n\n  * One.\n\n"
        " -- A B <a@b.org>  Mon, 02 Jan 2023 13:06:21 +0100\n\n"
        "a (0.9-1) unstable; urgency=low\n\n  * Bad trailer.\n\n -- nobody\n\n"
        "a (0.8-1) unstable; urgency=low\n\n  * Truncated.\n"
    )
    out = list(parse_changelog(text))
    entries = [e for e in out if isinstance(e, Entry)]
    assert len(entries) == 1
    assert entries[0].date == datetime(2023, 1, 2, 12, 6, 21, tzinfo=UTC)
    assert entries[0].urgency == "medium"
    assert entries[0].text == "* One."
    assert len([e for e in out if isinstance(e, str)]) == 2


def test_root_outside_grant_is_refused(tmp_path: Path, changelogs: tuple[Path, int]) -> None:
    """The connector reads only through its grant: a path outside it is WF301."""
    import pytest

    from wiseflow import PermissionDenied
    from wiseflow._pipeline import LocalBackend, LocalStage
    from wiseflow.plugins.debian_changelog import DebianChangelogConnector

    root, _ = changelogs
    backend = LocalBackend("cl", read_roots=[tmp_path / "elsewhere"])
    stage = LocalStage(
        DebianChangelogConnector(), name="cl", plugin="debian-changelog",
        config={"root": str(root)}, data_dir=tmp_path / "d", backend=backend,
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        list(stage.fetch(None))
