"""Kill a real pipeline process with SIGKILL mid-run: the next run loses and duplicates nothing."""

from __future__ import annotations

import importlib.util
import json
import os
import select
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

DRIVER = Path(__file__).parent / "crash_driver.py"
FIXTURES = Path(__file__).parent.parent / "fixtures"


def _write_changelogs(root: Path, packages: int, entries: int) -> int:
    spec = importlib.util.spec_from_file_location(
        "make_changelogs", FIXTURES / "make_changelogs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return int(mod.write_changelogs(root, packages=packages, entries=entries))


def _start(root: Path, data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(DRIVER), str(root), str(data), "16", "--commit-rows", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rows(data: Path) -> tuple[int, int]:
    conn = sqlite3.connect(data / "wiseflow.db")
    try:
        total = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        distinct = conn.execute(
            "SELECT count(DISTINCT source || '/' || id) FROM records"
        ).fetchone()[0]
        return total, distinct
    finally:
        conn.close()


@pytest.mark.parametrize("kill_after", [[1], [3, 9, 20], [40, 2, 15]])
def test_sigkill_mid_run_then_resume_loses_and_duplicates_nothing(
    tmp_path: Path, kill_after: list[int]
) -> None:
    """After SIGKILLs at several batches, a final run leaves exactly the fixture's entries."""
    root, data = tmp_path / "doc", tmp_path / "data"
    expected = _write_changelogs(root, packages=30, entries=40)
    killed = 0
    for k in kill_after:
        proc = _start(root, data)
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            if line.startswith("batch"):
                seen += 1
                if seen == k:
                    proc.send_signal(signal.SIGKILL)
                    killed += 1
                    break
            if line.startswith("done"):
                break
        proc.communicate(timeout=60)
        total, distinct = _rows(data)
        assert total == distinct
        assert total <= expected
    assert killed == len(kill_after)
    before, _ = _rows(data)
    assert 0 < before < expected  # the kills really interrupted a run part-way
    final = _start(root, data)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    done = [line for line in out.splitlines() if line.startswith("done")][0].split()
    stored_now = int(done[1])
    total, distinct = _rows(data)
    assert total == distinct == expected
    assert stored_now == expected - before  # the final run stored exactly what was missing
    # and once complete, another run has nothing to fetch
    again = _start(root, data)
    out, _ = again.communicate(timeout=60)
    assert out.strip().splitlines()[-1] == "done 0 0 0"


# -- kill points inside the store's group commit ---------------------------------------------

COUNT = 400  # numbered records; every 7th is dead-lettered by the driver's processor
DEAD = len(range(0, COUNT, 7))


def _start_at(data: Path, stop: str, commit_rows: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(DRIVER), "-", str(data), "16", "--count", str(COUNT)]
    args += ["--commit-rows", str(commit_rows)] + (["--stop", stop] if stop else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(proc: subprocess.Popen[bytes], word: bytes, seconds: float = 60.0) -> None:
    """Read the driver's output until a line starts with ``word`` (it then blocks)."""
    assert proc.stdout is not None
    fd, buf = proc.stdout.fileno(), b""
    deadline = time.monotonic() + seconds
    while not any(line.startswith(word) for line in buf.split(b"\n")):
        left = deadline - time.monotonic()
        assert left > 0, f"the driver never printed {word!r}: {buf[-300:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        chunk = os.read(fd, 65536) if ready else b""
        assert chunk or not ready, f"the driver ended first: {proc.communicate()[1][-2000:]!r}"
        buf += chunk


def _state(data: Path) -> tuple[list[str], list[str], int]:
    """Stored ids, dead-lettered ids (as stored, repeats kept) and the checkpoint's ``next``."""
    conn = sqlite3.connect(data / "wiseflow.db")
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM records ORDER BY id")]
        dead = [r[0] for r in conn.execute("SELECT record_id FROM dead_letters ORDER BY 1")]
        row = conn.execute("SELECT state FROM checkpoints WHERE source = 'n'").fetchone()
        return ids, dead, json.loads(row[0])["next"] if row else 0
    finally:
        conn.close()


def _kept(upto: int) -> set[str]:
    """The ids the driver's processor lets through among the first ``upto`` numbers."""
    return {f"r{i:05d}" for i in range(upto) if i % 7}


def _consistent(data: Path) -> tuple[int, list[str], list[str]]:
    """Every record before the checkpoint is stored (once) or, if refused, dead-lettered.

    Returns (checkpoint, ids, dead). A batch's checkpoint is the last one its source
    yielded before the batch was cut, so records may be stored beyond it, never missing.
    """
    ids, dead, upto = _state(data)
    assert len(ids) == len(set(ids))
    assert _kept(upto) <= set(ids)  # the checkpoint never runs ahead of its records
    refused = {f"r{i:05d}" for i in range(0, upto, 7)}
    assert refused <= set(dead) and not set(ids) & set(dead)
    return upto, ids, dead


def _cut_last_commit(data: Path) -> None:
    """Drop the last frame of the WAL: the last commit is torn, as a kill while writing it."""
    wal = data / "wiseflow.db-wal"
    (page,) = struct.unpack(">I", wal.read_bytes()[8:12])  # the WAL header's page size
    size = wal.stat().st_size
    assert size > 32 + 24 + page  # header and at least one whole frame
    with wal.open("r+b") as f:
        f.truncate(size - (24 + page))


@pytest.mark.parametrize(
    ("stop", "commit_rows"),
    [
        ("batch:10", 48),  # an open transaction holding several batches, after two commits
        ("batch:3", 10_000),  # nothing of this run committed yet
        ("checkpoint:9", 48),  # a batch's records written, its checkpoint not yet
        ("commit:3", 48),  # a commit about to run
        ("committed:3", 48),  # a commit torn in the WAL (see _cut_last_commit)
        ("finish:1", 48),  # finish_run with the run's last batches not yet committed
        ("checkpointed:2", 48),  # the log copied back in the background, a group open
    ],
)
def test_sigkill_inside_group_commit_loses_and_duplicates_nothing(
    tmp_path: Path, stop: str, commit_rows: int
) -> None:
    """Killed at a point inside the store, a resumed run stores each record exactly once."""
    data = tmp_path / "data"
    proc = _start_at(data, stop, commit_rows)
    try:
        _wait_for(proc, b"stop")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    if stop.startswith("committed"):
        whole = tmp_path / "whole"
        shutil.copytree(data, whole)
        _cut_last_commit(data)
        assert _state(data)[2] < _state(whole)[2]  # the torn commit is gone, all of it
    upto, ids, dead = _consistent(data)
    assert upto < COUNT  # the kill interrupted the run
    assert (upto > 0) is (commit_rows < COUNT)  # earlier commits of the run are kept
    resumed = _start_at(data, "", commit_rows)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    stored, duplicates, fetched = map(int, out.split()[-3:])
    assert fetched == COUNT - upto  # resumed from the committed checkpoint
    ahead = len(set(ids) - _kept(upto))  # stored past the checkpoint: fetched again
    assert (stored, duplicates) == (len(_kept(COUNT)) - len(ids), ahead)  # what was missing
    final, ids, dead_after = _consistent(data)
    assert final == COUNT
    assert len(ids) == COUNT - DEAD
    # A record past the committed checkpoint is fetched and refused again: its dead letter
    # is replaced, never repeated, so each refused record is listed (and replayed) once.
    assert dead_after == sorted(f"r{i:05d}" for i in range(0, COUNT, 7))
    conn = sqlite3.connect(data / "wiseflow.db")
    statuses = [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY run_id")]
    conn.close()
    assert statuses == ["crashed", "partial"]  # partial: the run has dead letters
