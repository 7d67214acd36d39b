"""Kill a real pipeline process with SIGKILL mid-run: the next run loses and duplicates nothing."""

from __future__ import annotations

import importlib.util
import signal
import sqlite3
import subprocess
import sys
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
