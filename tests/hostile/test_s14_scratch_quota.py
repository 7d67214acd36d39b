"""The scratch space is disk too: ``max_data_mb`` and ``max_data_files`` count it.

A sandboxed worker may write two places: its data dir and a scratch folder the host makes
for it in the system's temporary directory (its ``TMPDIR``). The data dir ceilings watched
the data dir only: under ``max_data_mb = 5`` and ``max_data_files = 20`` a plugin wrote
400 MB and 600 files into its scratch space in one call and the run ended ``ok`` (the disk,
or a RAM-backed ``/tmp``, filled for as long as the worker lived). Now the scratch folder
counts with the data dir: the run fails with WF403 naming the ceiling and both places, the
worker is stopped and its scratch folder removed, and the host carries on.

Positive controls: with the ceilings raised the same plugin's files do land in a folder
outside its data dir, and a guard that measures the data dir alone (as before) sees
nothing of a full scratch folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from cli_kit import SOURCE, document, project, wf

from wiseflow._policy._datadir import DataDirGuard, add_scratch, drop_scratch

ATTACKER = """
import os, tempfile
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        scratch = tempfile.gettempdir()
        if self.ctx.name == "filler":  # bytes: 8 files of 2 MB
            blob = b"\\xa5" * (2 << 20)
            for i in range(8):
                with open(os.path.join(scratch, f"f{i}"), "wb") as f:
                    f.write(blob)
        else:  # entries: 30 empty files
            for i in range(30):
                open(os.path.join(scratch, f"e{i}"), "w").close()
        count = len(os.listdir(scratch))
        return [r.annotate("scratch", scratch).annotate("entries", count) for r in batch]
"""

PIPELINE = """\
[pipeline]
name = "t"
[[sources]]
plugin = "innocent"
[[processors]]
plugin = "{name}"
"""
TIGHT = "max_data_mb = 5\nmax_data_files = 20\n"
LOOSE = "max_data_mb = 1024\nmax_data_files = 10000\n"


def _project(root: Path, name: str, ceilings: str) -> Path:
    return project(
        root, {"innocent": ("connector", SOURCE), name: ("processor", ATTACKER)},
        PIPELINE.format(name=name), toml_extra=ceilings,
    )  # fmt: skip


def _scratches(name: str) -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"wiseflow-{name}-*")}


@pytest.mark.parametrize(
    ("name", "ceiling"), [("filler", "max_data_mb 5"), ("spawner", "max_data_files 20")]
)
def test_files_in_the_scratch_space_meet_the_data_ceilings(
    tmp_path: Path, name: str, ceiling: str
) -> None:
    before = _scratches(name)
    root = _project(tmp_path, name, TIGHT)
    res = wf("--json", "run", "p.toml", cwd=root)
    doc = document(res)
    assert res.returncode == 1, res.stderr
    assert doc["status"] in ("failed", "partial")
    errors = [e for e in doc["errors"] if e["plugin"] == name]
    assert errors and {e["code"] for e in errors} == {"WF403"}
    assert ceiling in errors[0]["message"]
    assert "scratch space" in errors[0]["message"]
    assert b"Traceback" not in res.stderr
    assert _scratches(name) == before  # the worker's scratch folder is gone with it
    # the host carries on: the source's records were handled, a new run answers
    assert doc["records"]["fetched"] == 3
    again = wf("--json", "run", "p.toml", "--full-refresh", cwd=root)
    assert document(again)["run_id"] == doc["run_id"] + 1


def test_positive_control_raised_ceilings_let_the_files_land_outside_the_data_dir(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path, "filler", LOOSE)
    res = wf("--json", "run", "p.toml", cwd=root)
    assert document(res)["status"] == "ok", res.stderr
    db = sqlite3.connect(f"file:{root / '.wiseflow' / 'wiseflow.db'}?mode=ro", uri=True)
    with closing(db):
        notes = [json.loads(a) for (a,) in db.execute("SELECT annotations FROM records")]
    assert notes and {n["entries"] for n in notes} == {8}
    data_dir = (root / ".wiseflow" / "plugins" / "filler").resolve()
    assert not Path(notes[0]["scratch"]).resolve().is_relative_to(data_dir)


def test_positive_control_a_guard_of_the_data_dir_alone_misses_the_scratch(
    tmp_path: Path,
) -> None:
    data_dir, scratch = tmp_path / "data", tmp_path / "scratch"
    data_dir.mkdir()
    scratch.mkdir()
    for i in range(8):
        (scratch / f"f{i}").write_bytes(os.urandom(1 << 20))
    guard = DataDirGuard("p", str(data_dir), max_mb=5, max_files=20)
    assert guard.over() is None  # before: 8 MB beside a 5 MB ceiling, unseen
    add_scratch(str(data_dir), str(scratch))
    try:
        err = guard.over()
    finally:
        drop_scratch(str(scratch))
    assert err is not None and err.code == "WF403"
    assert "max_data_mb 5" in err.message
    assert guard.over() is None  # dropped with its worker
