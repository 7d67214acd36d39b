"""Runs (``wiseflow.run_pipeline``) with failing plugins never lose records —
counts in == stored + dead letters, whatever fails."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from resilience_kit import config, policy, write_plugin

import wiseflow
from wiseflow import (
    Checkpoint,
    ConnectorPlugin,
    Manifest,
    ProcessorPlugin,
    Record,
    TransientError,
)
from wiseflow._pipeline import parse_pipeline
from wiseflow._store import Store


class Source(ConnectorPlugin):
    name = "source"
    n = 40

    def fetch(self, state: dict[str, Any] | None) -> Any:
        for i in range(self.n):
            yield Record(id=f"r{i}", source="source", title=f"t{i}")
        yield Checkpoint(state={"done": self.n})


class Picky(ProcessorPlugin):
    """Fails every call holding record r13; transient failure on every 4th call."""

    name = "picky"
    calls = 0

    def process(self, batch: list[Record]) -> list[Record]:
        type(self).calls += 1
        if type(self).calls % 4 == 0:
            raise TransientError("blip")
        if any(r.id == "r13" for r in batch):
            raise ValueError("cannot parse r13")
        return batch


class Down(ProcessorPlugin):
    name = "down"

    def process(self, batch: list[Record]) -> list[Record]:
        raise TransientError("service down")


class Spare(ProcessorPlugin):
    name = "spare"

    def process(self, batch: list[Record]) -> list[Record]:
        return [r.annotate("by", "spare") for r in batch]


def _run(pm: Any, processors: list[str], batch: int = 8) -> tuple[Any, Store]:
    """Run ``source`` into ``processors`` on ``pm``; the result, and the store it wrote."""
    text = f'[pipeline]\nname = "t"\nbatch_size = {batch}\n[[sources]]\nplugin = "source"\n'
    text += "".join(f'[[processors]]\nplugin = "{p}"\n' for p in processors)
    result = wiseflow.run_pipeline(parse_pipeline(text), manager=pm)
    return result, Store.open(pm.data_dir)


def test_bad_record_is_dead_lettered_and_the_rest_delivered(wiseflow_manager: Any) -> None:
    """One always-failing record becomes one dead letter; transient blips are retried; the
    other 39 records are stored; the breaker stays closed."""
    Picky.calls = 0
    pm = wiseflow_manager(
        Source, Picky, config=config(picky=policy(attempts=3, failures=3, reset_s=60))
    )
    summary, store = _run(pm, ["picky"])
    dead = store.dead_letters()
    assert [d["record_id"] for d in dead] == ["r13"]
    assert summary.fetched == 40 == store.count() + len(dead)
    assert pm.get("picky").stats.retries > 0
    assert pm.get("picky").describe()["breaker"]["state"] == "closed"
    store.close()


def test_failing_processor_hands_over_to_its_fallback_in_a_run(wiseflow_manager: Any) -> None:
    """A processor that is down opens its breaker; its fallback processes the rest; every
    record is stored or dead-lettered."""
    down = Manifest(name="down", version="1.0.0", kind="processor", entry="x:y", fallback="spare")
    spare = Manifest(name="spare", version="1.0.0", kind="processor", entry="x:y")
    pm = wiseflow_manager(
        Source,
        (down, Down),
        (spare, Spare),
        config=config(down=policy(attempts=2, failures=2, reset_s=60)),
    )
    summary, store = _run(pm, ["down"])
    stored = list(store.records())
    assert summary.fetched == 40 == len(stored) + len(store.dead_letters())
    assert sum(r.annotations.get("by") == "spare" for r in stored) >= 32
    assert pm.get("down").stats.fallback_calls > 0
    store.close()


BAD_RECORD = """
class P(ProcessorPlugin):
    def process(self, batch):
        for r in batch:
            if r.title.endswith("#3"):
                raise ValueError("no #3 please")
        return batch
"""


def test_wiseflow_run_sandboxed_dead_letters_and_leaves_no_metrics_file(tmp_path: Path) -> None:
    """`wiseflow run` with a sandboxed processor failing on one record: 4 stored, 1 dead
    letter, exit 1; the metrics snapshot is removed when the run ends."""
    write_plugin(tmp_path / "plugins", "picky", BAD_RECORD)
    (tmp_path / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "sandboxed"\n'
        '[plugins.hello]\nlevel = "trusted"\n'
        "[plugins.picky]\nretry = { attempts = 2, backoff_s = 0.001, max_backoff_s = 0.01 }\n"
    )
    (tmp_path / "p.toml").write_text(
        '[pipeline]\nname = "p"\nbatch_size = 5\n[[sources]]\nplugin = "hello"\n'
        'config = { count = 5 }\n[[processors]]\nplugin = "picky"\n'
    )
    res = subprocess.run(
        [sys.executable, "-m", "wiseflow", "run", "p.toml", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    rec = doc["records"]
    assert (rec["fetched"], rec["stored"], rec["dead_letters"]) == (5, 4, 1)
    db = sqlite3.connect(tmp_path / ".wiseflow" / "wiseflow.db")
    assert db.execute("select count(*) from dead_letters").fetchone() == (1,)
    assert list((tmp_path / ".wiseflow" / "metrics").glob("*")) == []


HOG = """
class P(ProcessorPlugin):
    def process(self, batch):
        if any(r.id == "r7" for r in batch):
            hog = []
            while True:
                hog.append(bytearray(8 * 1024 * 1024))
        return batch
"""


def test_memory_hog_in_a_run_loses_no_record(tmp_path: Path, wiseflow_manager: Any) -> None:
    """A sandboxed processor stopped by its memory quota on one batch: the batch before it is
    stored, that batch is dead-lettered with WF403 and its figure, later ones with WF405 naming
    the WF403; the run reports the WF403 and fails; no record vanishes."""
    write_plugin(tmp_path / "plugins", "hog", HOG)
    pol = policy(resources={"memory_mb": 160, "soft_memory_mb": 160})
    pm = wiseflow_manager(Source, plugin_dirs=[tmp_path / "plugins"], config=config(hog=pol))
    Source.n = 20
    try:
        summary, store = _run(pm, ["hog"], batch=5)
    finally:
        Source.n = 40
    dead = store.dead_letters()
    codes = {d["code"] for d in dead}
    assert summary.fetched == 20 == store.count() + len(dead)
    assert store.count() == 5 and codes == {"WF403", "WF405"}
    assert all("peak address space" in d["reason"] for d in dead)
    assert all("WF403" in d["reason"] for d in dead if d["code"] == "WF405")
    assert summary.status == "failed"
    assert [e["code"] for e in summary.errors] == ["WF403"]
    store.close()


def test_disabling_a_crashed_plugin_keeps_it_disabled(
    tmp_path: Path, wiseflow_manager: Any
) -> None:
    """disable() on a plugin whose worker died stays DISABLED (no flip back to ERROR)."""
    from wiseflow import PluginState, WorkerCrashed

    write_plugin(tmp_path / "plugins", "dies", "class P(ProcessorPlugin):\n"
                 "    def process(self, batch):\n        os._exit(1)\n")  # fmt: skip
    pm = wiseflow_manager(
        plugin_dirs=[tmp_path / "plugins"],
        level="sandboxed",
        config=config(dies=policy(attempts=1)),
    )
    handle = pm.start("dies")
    with pytest.raises(WorkerCrashed):
        handle.process([Record(id="1", source="s")])
    pm.disable("dies")
    assert handle.state is PluginState.DISABLED and handle.health()["ok"] is False
