"""Traps left in the data dir for the host: a FIFO, links to host files and to ``/``, a loop.

A sandboxed plugin may create whatever its data dir allows: a FIFO (a host opening it to
read would block), symlinks to ``/etc/shadow`` and to the project's ``wiseflow.db``, a
symlink to ``/`` (a host walking it would measure the whole machine against
``max_data_mb``), a symlink loop and sparse files far larger, in total, than
``max_data_mb``. The host must never open, follow
or read them: the run ends ok, the data-dir ceilings count each link as one entry (so a
tight ``max_data_files`` still passes), and ``runs show`` and ``runs list`` answer.

Positive control: the traps are real: the links resolve to the host's files and ``/``,
the FIFO is a FIFO, and the sparse files' sizes add up to more than ``max_data_mb``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cli_kit import PIPELINE, SOURCE, document, project, wf

ATTACKER = """
import os
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        data = str(self.ctx.data_dir)
        db = os.path.join(os.path.dirname(os.path.dirname(data)), "wiseflow.db")
        traps = {"fifo": None, "shadow": "/etc/shadow", "db": db, "root": "/", "loop": "loop"}
        for name, target in traps.items():
            path = os.path.join(data, name)
            if os.path.lexists(path):
                continue
            if target is None:
                os.mkfifo(path)
            else:
                os.symlink(target, path)
        for i in range(4):
            with open(os.path.join(data, f"sparse{i}"), "wb") as f:
                f.truncate(60 * 1024 * 1024)  # 60 MB apparent, no blocks
        return batch
"""


def test_traps_in_the_data_dir_are_never_opened_or_followed(tmp_path: Path) -> None:
    """Two runs (the second measures the traps the first left), runs show, runs list."""
    root = project(
        tmp_path, {"innocent": ("connector", SOURCE), "attacker": ("processor", ATTACKER)},
        PIPELINE, toml_extra="max_data_files = 10\nmax_data_mb = 64\n",
    )  # fmt: skip
    for _ in range(2):
        res = wf("--json", "run", "p.toml", "--full-refresh", cwd=root)
        assert res.returncode == 0, res.stdout + res.stderr
        doc = document(res)
        assert doc["status"] == "ok" and doc["errors"] == [], doc
    shown = wf("runs", "show", str(doc["run_id"]), cwd=root)
    assert shown.returncode == 0 and b"Traceback" not in shown.stdout + shown.stderr
    assert wf("runs", "list", cwd=root).returncode == 0

    # positive control: the traps are there and are what they claim to be
    data = root / ".wiseflow" / "plugins" / "attacker"
    assert stat.S_ISFIFO(os.lstat(data / "fifo").st_mode)
    assert os.path.realpath(data / "shadow") == "/etc/shadow"
    assert os.path.realpath(data / "db") == str((root / ".wiseflow" / "wiseflow.db").resolve())
    assert os.path.realpath(data / "root") == "/" and len(os.listdir(data / "root")) > 5
    assert sum(os.path.getsize(data / f"sparse{i}") for i in range(4)) > 64 * 1024 * 1024
