"""A Ray actor killed mid-batch: WF402 for that batch, nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from ray_kit import project, rows, run

from wiseflow._ray import ray_executor
from wiseflow._run._run import open_manager, stages

#: The processor blocks on record r7 the first time it sees it (until its actor is killed).
STALLING = """\
import os, time
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        seen = self.ctx.data_dir / "seen"
        if any(r.id == "r7" for r in batch) and not seen.exists():
            seen.write_text(str(os.getpid()))
            end = time.monotonic() + 120
            while time.monotonic() < end:  # stalled: the test kills this worker's actor
                time.sleep(0.05)
        return [r.replace(title=r.title.upper()) for r in batch]
"""

#: One try per batch: the killed batch goes to the dead letters at once (WF402), and the
#: breaker the crash opened stays open for the rest of the run: deterministic counts.
ONE_TRY = "\n[plugins.proc]\nretry = { attempts = 1 }\nbreaker = { reset_s = 3600 }\n"


def _kill_actor_when_stalled(root: Path, done: threading.Event, out: dict[str, int]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not done.is_set():
        found = list((root / ".wiseflow").rglob("seen"))
        if found and found[0].read_text():
            worker = psutil.Process(int(found[0].read_text()))
            out["worker"] = worker.pid
            for parent in worker.parents():  # the WorkerHost actor's process on the node
                if "WorkerHost" in " ".join(parent.cmdline()) + parent.name():
                    out["actor"] = parent.pid
                    os.kill(parent.pid, signal.SIGKILL)
                    return
            return
        done.wait(0.1)  # a condition polled with a deadline, not a sleep for timing


def test_killed_actor_is_wf402_and_replay_completes_the_set(
    tmp_path: Path, ray_cluster: str, capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "p", STALLING, n=30, analyzers="", extra_config=ONE_TRY)
    done, out = threading.Event(), {}
    killer = threading.Thread(target=_kill_actor_when_stalled, args=(root, done, out))
    killer.start()
    try:
        res = run(root, ray_cluster)
    finally:
        done.set()
        killer.join(timeout=130)
    assert "actor" in out, f"the actor of the stalled worker was not found: {out}"
    assert "raylet" not in capfd.readouterr().out  # nothing of Ray on stdout
    assert res.status != "ok" and (res.stored, res.dead_letters) == (5, 25)
    assert "WF402" in {e["code"] for e in res.errors}
    letters = dict(rows(root, "select record_id, code from dead_letters"))
    assert {i for i, c in letters.items() if c == "WF402"} == {f"r{i}" for i in range(5, 10)}
    # after it the plugin is out (breaker open, instance in ERROR), as locally
    assert set(letters.values()) - {"WF402"} <= {"WF404", "WF405"}
    assert rows(root, "select count(*), count(distinct id) from records") == [(5, 5)]
    if psutil.pid_exists(out["worker"]):
        _, alive = psutil.wait_procs([psutil.Process(out["worker"])], timeout=60)
        assert not alive  # the worker died with its actor: nothing left running on the node

    config, data = root / "wiseflow.toml", root / ".wiseflow"
    with ray_executor(ray_cluster), stages(open_manager(config, data), root / "p.toml") as st:
        again = st.replay()
    assert again.stored == 25 and again.dead_letters == 0
    assert rows(root, "select count(*), count(distinct id) from records") == [(30, 30)]
    assert rows(root, "select count(*) from dead_letters") == [(0,)]
    titles = {t for (t,) in rows(root, "select title from records")}
    assert all(t == t.upper() for t in titles)


def test_killed_actor_is_replaced_and_the_batch_retried(
    tmp_path: Path, ray_cluster: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With the default retries, ``process`` (stateless) is retried on a new actor."""
    root = project(tmp_path / "p", STALLING, n=30, analyzers="")
    done, out = threading.Event(), {}
    killer = threading.Thread(target=_kill_actor_when_stalled, args=(root, done, out))
    killer.start()
    try:
        res = run(root, ray_cluster)
    finally:
        done.set()
        killer.join(timeout=130)
    assert "actor" in out, f"the actor of the stalled worker was not found: {out}"
    assert (res.status, res.stored, res.dead_letters) == ("ok", 30, 0)
    assert rows(root, "select count(*), count(distinct id) from records") == [(30, 30)]
    restarts = [r.getMessage() for r in caplog.records if "worker restarted" in r.getMessage()]
    assert restarts and "proc" in restarts[0]
