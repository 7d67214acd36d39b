"""What the user reads when something is wrong: true hints, did-you-mean, readable tables."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def wf(*args: str, cwd: Path, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _truncated_db(path: Path) -> None:
    whole = path.with_suffix(".whole")
    conn = sqlite3.connect(whole)
    conn.execute("create table t(x)")
    conn.executemany("insert into t values (?)", [("x" * 1000,)] * 200)
    conn.commit()
    conn.close()
    path.write_bytes(whole.read_bytes()[:20_000])


@pytest.mark.parametrize("damage", ["not-sqlite", "truncated"])
def test_corrupt_database_hint_says_the_file_is_damaged(tmp_path: Path, damage: str) -> None:
    """A wiseflow.db that is not SQLite or is cut short is called damaged (WF502)."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "wiseflow.db"
    if damage == "not-sqlite":
        db.write_text("these are my notes, not a database\n")
    else:
        _truncated_db(db)
    proc = wf("--data-dir", str(data), "runs", "list", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "WF502" in proc.stderr
    assert "not a wiseflow database or is damaged" in proc.stderr
    assert "writable" not in proc.stderr
    proc = wf("--json", "--data-dir", str(data), "runs", "list", cwd=tmp_path)
    err = json.loads(proc.stdout)["error"]
    assert err["code"] == "WF502" and "move it away" in err["hint"]


READ_ONLY = [
    ("plugins", "list"),
    ("plugins", "info", "hello", "--schema"),
    ("plugins", "check", "hello"),
    ("plugins", "audit", "hello"),
    ("runs", "list"),
    ("dead-letters", "list"),
    ("doctor",),
]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_create_no_data_dir(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A command that only looks, run from some folder, leaves no `./.wiseflow` there."""
    proc = wf(*command, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_writing_command_still_creates_the_data_dir(tmp_path: Path) -> None:
    """`plugins disable` writes operator state, so it creates the data dir it writes to."""
    proc = wf("plugins", "disable", "hello", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ".wiseflow").is_dir()
