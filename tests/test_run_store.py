"""A run's store opens while its stages start and closes while its workers stop
(``_run/_opening.py``): the caller still gets a closed, synced store and the same errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from test_run import _project, _run
from wiseflow import RunResult, SandboxUnavailable, StoreError, run_pipeline
from wiseflow._host._manager import PluginManager
from wiseflow._policy._operator import load_operator_config
from wiseflow._store import DB_NAME, Store


def _store_threads(before: set[threading.Thread]) -> list[str]:
    """Store threads (open, close, log, commit timer) started since ``before`` and alive."""
    return [
        t.name
        for t in threading.enumerate()
        if t not in before and t.name.startswith("wiseflow-store")
    ]


def test_a_run_returns_with_its_store_closed_and_synced(tmp_path: Path) -> None:
    """When run_pipeline returns, the store's threads have ended and its close has copied
    the log into the database (the -wal file is gone): nothing is left to do after it."""
    project = _project(tmp_path)
    before = set(threading.enumerate())
    result = _run(project)
    assert (result.status, result.stored) == ("ok", 12)
    assert _store_threads(before) == []
    data = project / "data"
    assert (data / DB_NAME).is_file() and not (data / f"{DB_NAME}-wal").exists()
    with Store.open(data / DB_NAME) as store:
        assert store.count() == 12
        assert store.run(result.run_id)["status"] == "ok"  # type: ignore[index]


def test_a_damaged_store_is_wf502_once_the_stages_started_and_they_are_stopped(
    tmp_path: Path,
) -> None:
    """A wiseflow.db that is not a database, opened beside the starting stages, fails the
    run with WF502 and its hint, as when it was opened after them; every worker started
    is stopped and no store thread stays. A sound store in the same place runs (control)."""
    project = _project(tmp_path, level="sandboxed")
    data = project / "data"
    data.mkdir()
    (data / DB_NAME).write_text("these are my notes, not a database\n")
    config = load_operator_config(project / "wiseflow.toml")
    before = set(threading.enumerate())
    with PluginManager(config, data_dir=data, cache=False) as pm:
        try:
            with pytest.raises(StoreError) as info:
                run_pipeline(project / "p.toml", manager=pm)
        except SandboxUnavailable as exc:  # pragma: no cover - depends on the kernel
            pytest.skip(f"sandbox unavailable here: {exc}")
        assert info.value.code == "WF502" and "damaged" in (info.value.hint or "")
        assert {h.state.value for h in pm.handles()} == {"UNLOADED"}
        assert _store_threads(before) == []
        (data / DB_NAME).unlink()
        result: RunResult = run_pipeline(project / "p.toml", manager=pm)
        assert (result.status, result.stored) == ("ok", 12)
    assert _store_threads(before) == []
