"""SPEC §12 from outside: ``wiseflow.run_pipeline`` as an embedder calls it.

Found from outside: runs started together on a data dir with no store yet (threads of one
embedder, or a cron job and an operator) failed with WF502 "duplicate column name: host"
(each read the schema version, then migrated the store again after another had) or
"database is locked" (SQLite answers the switch to WAL at once, without waiting), and runs of one
process raised FileNotFoundError (not even a WiseflowError) when their metrics writers
renamed the same temporary file. Opening now reads the version again under the write lock
and waits for the switch; each writer thread has a temporary file of its own.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from outside import plugin, project, wf

import wiseflow

MANIFEST = (
    '[plugin]\nname = "counter"\nversion = "1.0.0"\nkind = "connector"\nentry = "plugin:Counter"\n'
)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    plugin(tmp_path / "plugins", "counter", MANIFEST)
    monkeypatch.chdir(project(tmp_path))
    return tmp_path


def test_c4_runs_started_together_on_a_fresh_data_dir_all_complete(scratch: Path) -> None:
    for attempt in range(3):  # each attempt: a data dir with no store yet
        data = scratch / f"fresh{attempt}"
        start = threading.Barrier(4)
        out: list[Any] = []

        def run(data: Path = data, start: threading.Barrier = start, out: list[Any] = out) -> None:
            start.wait(timeout=60)
            try:
                out.append(wiseflow.run_pipeline("p.toml", data_dir=data))
            except wiseflow.WiseflowError as exc:
                out.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert [getattr(r, "status", r) for r in out] == ["ok"] * 4, out
        assert sorted(r.run_id for r in out) == [1, 2, 3, 4]


def test_c4_a_result_is_the_run_json_document_and_a_parsed_pipeline_runs_alike(
    scratch: Path,
) -> None:
    by_path = wiseflow.run_pipeline("p.toml", data_dir=scratch / "a")
    parsed = wiseflow.load_pipeline("p.toml")
    by_object = wiseflow.run_pipeline(parsed, data_dir=scratch / "b")
    done = wf("--data-dir", str(scratch / "c"), "run", "p.toml", "--json", cwd=scratch)
    cli = json.loads(done.stdout)
    for result in (by_path, by_object):
        doc = result.to_dict()
        assert doc.keys() == cli.keys()
        assert (doc["status"], doc["records"], doc["errors"]) == (
            cli["status"], cli["records"], cli["errors"],
        )  # fmt: skip
        assert (result.status, result.stored, result.ok) == ("ok", 2, True)


def test_c4_two_runs_of_one_process_are_two_hosts_for_top(scratch: Path) -> None:
    """Both wrote ``metrics/<pid>.json``: `top` and the dashboard saw one run (either),
    and the first to end removed the other's snapshot and control folder."""
    data = scratch / "shared"
    wiseflow.run_pipeline("p.toml", data_dir=data)  # the store exists: only the views race
    both_running = threading.Barrier(3, timeout=60)
    seen = threading.Event()
    out: list[Any] = []

    def hold(_: Any) -> None:  # progress: after the first batch, wait until `top` looked
        if not seen.is_set():
            both_running.wait()
            seen.wait(timeout=60)

    def run() -> None:
        out.append(wiseflow.run_pipeline("p.toml", data_dir=data, progress=hold))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        both_running.wait()
        top = json.loads(wf("--data-dir", str(data), "top", "--json", cwd=scratch).stdout)
    finally:
        seen.set()
        for t in threads:
            t.join(timeout=120)
    assert len(top["hosts"]) == 2, top["hosts"]
    assert [r.status for r in out] == ["ok", "ok"]
    assert not list((data / "metrics").glob("*.json"))  # each removed its own at the end
