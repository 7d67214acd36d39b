"""Opening a store: a new file is switched to WAL without syncs, yet every store runs with
``synchronous = NORMAL`` afterwards; an existing file keeps its settings; the host stamp."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil

from wiseflow import Record
from wiseflow._store import Store
from wiseflow._store._hosts import host_alive, host_stamp

NORMAL = 1


def _pragmas(store: Store) -> tuple[str, int, int]:
    conn = store._conn
    return (
        conn.execute("PRAGMA journal_mode").fetchone()[0],
        conn.execute("PRAGMA synchronous").fetchone()[0],
        conn.execute("PRAGMA page_size").fetchone()[0],
    )


def test_a_new_store_is_wal_with_normal_syncs_and_keeps_what_it_wrote(tmp_path: Path) -> None:
    """The switch to WAL of a new file runs unsynced; the store itself syncs as always."""
    db = tmp_path / "new" / "wiseflow.db"
    with Store.open(db) as store:
        assert _pragmas(store) == ("wal", NORMAL, 16_384)
        run = store.begin_run("p")
        store.write_batch("s", [Record(id="a", source="s", title="kept")], run, {"n": 1})
        store.finish_run(run, "ok", {})
    with Store.open(db) as again:
        assert _pragmas(again) == ("wal", NORMAL, 16_384)
        assert [r.title for r in again.records()] == ["kept"]
        assert again.checkpoint("s") == {"n": 1}


def test_an_empty_file_is_a_new_store_and_an_old_one_keeps_its_page_size(tmp_path: Path) -> None:
    """A 0-byte file (say, `touch`ed) becomes a store; a database made elsewhere with 4 KiB
    pages and a rollback journal is switched to WAL and keeps its pages and rows."""
    empty = tmp_path / "empty.db"
    empty.touch()
    with Store.open(empty) as store:
        assert _pragmas(store) == ("wal", NORMAL, 16_384)
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("CREATE TABLE notes (x)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    with Store.open(old) as store:
        assert _pragmas(store) == ("wal", NORMAL, 4096)
        assert store._conn.execute("SELECT x FROM notes").fetchall() == [("mine",)]


def test_the_host_stamp_is_psutils_and_needs_no_psutil(tmp_path: Path) -> None:
    """A stamp is ``hostname:pid:start`` with the start time psutil gives (stamps written
    by either agree), read without loading psutil; a stamp of a process that is gone is
    not alive. Checked in a fresh interpreter, for itself and for a child it started."""
    code = (
        "import os, subprocess, sys\n"
        "from wiseflow._store._hosts import host_stamp\n"
        "child = subprocess.Popen(['sleep', '30'])\n"
        "stamps = [host_stamp(os.getpid()), host_stamp(child.pid)]\n"
        "loaded = 'psutil' in sys.modules\n"
        "import psutil\n"
        "psutils = [f'{psutil.Process(p).create_time():.2f}' for p in (os.getpid(), child.pid)]\n"
        "print(*stamps, loaded, *psutils)\n"
        "child.kill(); child.wait()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    own, child, loaded, own_psutil, child_psutil = done.stdout.split()
    assert loaded == "False"
    assert own.rsplit(":", 1)[1] == own_psutil and child.rsplit(":", 1)[1] == child_psutil
    assert own.split(":")[0] == child.split(":")[0] == socket.gethostname()
    mine = host_stamp(os.getpid())
    assert mine == f"{socket.gethostname()}:{os.getpid()}:{psutil.Process().create_time():.2f}"
    assert host_alive(mine)
    gone = psutil.Popen(["sleep", "0"])
    stamp = host_stamp(gone.pid)
    assert stamp.rsplit(":", 1)[1] == f"{gone.create_time():.2f}"
    gone.wait(timeout=30)
    assert not host_alive(stamp)
    assert host_stamp(gone.pid).endswith(":0.00")
