"""Two Ray nodes on this machine: an instance placed on the second one, and that node lost.

The processor asks for :attr:`SecondNode.CPUS` CPUs (``[plugin.resources] ray_num_cpus``),
more than the head has: Ray can only place it on the second node (a test-side arrangement;
the product has no placement option of its own). Where it ran is read from Ray's actor
table and from the process tree, not from our own runner.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import SecondNode
from ray_kit import UPPER, actor_row, project, rows, run, set_resources

from wiseflow._ray import _executor, ray_executor
from wiseflow._run._run import open_manager, stages

#: The processor blocks on record r7 the first time it sees it (until its node is killed).
STALLING = """\
import os, time
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        seen = self.ctx.data_dir / "seen"
        if any(r.id == "r7" for r in batch) and not seen.exists():
            seen.write_text(str(os.getpid()))
            end = time.monotonic() + 120
            while time.monotonic() < end:  # stalled: the test kills its node's raylet
                time.sleep(0.05)
        return [r.replace(title=r.title.upper()) for r in batch]
"""

#: The source stays in the host (trusted): only the processor is on the node that dies.
#: One try per batch and a breaker that stays open: deterministic counts, as in test_ray_faults.
ONE_TRY = (
    '\n[plugins.src]\nlevel = "trusted"\n'
    "[plugins.proc]\nretry = { attempts = 1 }\nbreaker = { reset_s = 3600 }\n"
)


def _on_node(pid: int, node: SecondNode) -> bool:
    """Whether process ``pid`` descends from the second node's raylet."""
    raylet = node.raylet().pid
    return any(p.pid == raylet for p in psutil.Process(pid).parents())


def test_instance_on_the_second_node_stores_each_record_once(
    tmp_path: Path, ray_node2: SecondNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed: dict[str, dict[str, Any]] = {}
    build = _executor._ray_runner

    def spy(spec, broker, **options):  # type: ignore[no-untyped-def]
        runner = build(spec, broker, **options)
        load = runner.load

        def load_and_look() -> None:  # where Ray put it, while it is alive
            load()
            row = actor_row(runner._actor)
            worker = runner.node()["worker_pid"]
            placed[spec.instance] = {**row, "worker_on_node2": _on_node(worker, ray_node2)}

        runner.load = load_and_look
        return runner

    monkeypatch.setattr(_executor, "_ray_runner", spy)
    root = project(tmp_path / "ray", UPPER, n=40)
    set_resources(root, "proc", f"ray_num_cpus = {SecondNode.CPUS}")
    res = run(root, ray_node2.head)
    assert (res.status, res.stored) == ("ok", 40), res.errors
    proc = placed["proc"]
    assert proc["node_id"] == ray_node2.node_id, (proc, ray_node2.node_id)
    assert proc["required_resources"].get("CPU") == SecondNode.CPUS
    assert proc["worker_on_node2"]  # the confined worker is a process of that node
    assert rows(root, "select count(*), count(distinct id) from records") == [(40, 40)]

    local = project(tmp_path / "local", UPPER, n=40)
    res_local = run(local, None)
    query = "select id, title, annotations from records order by id"
    assert rows(root, query) == rows(local, query)
    assert res.analyzers == res_local.analyzers and res.analyzers  # wordcount counted


def _kill_node_when_stalled(
    root: Path, node: SecondNode, done: threading.Event, out: dict[str, Any]
) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not done.is_set():
        found = list((root / ".wiseflow").rglob("seen"))
        if found and found[0].read_text():
            out["worker"] = int(found[0].read_text())
            out["on_node2"] = _on_node(out["worker"], node)
            raylet = node.raylet()
            os.kill(raylet.pid, signal.SIGKILL)  # a process of the group the fixture started
            out["raylet"] = raylet.pid
            return
        done.wait(0.1)  # a condition polled with a deadline, not a sleep for timing


def test_second_node_killed_mid_batch_is_wf402_and_replay_completes(
    tmp_path: Path, ray_node2: SecondNode, capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "p", STALLING, n=30, analyzers="", extra_config=ONE_TRY)
    set_resources(root, "proc", f"ray_num_cpus = {SecondNode.CPUS}")
    done, out = threading.Event(), {}
    killer = threading.Thread(target=_kill_node_when_stalled, args=(root, ray_node2, done, out))
    killer.start()
    try:
        res = run(root, ray_node2.head)
    finally:
        done.set()
        killer.join(timeout=130)
    assert "raylet" in out, f"the stalled worker was not found: {out}"
    assert out["on_node2"]  # the stalled worker ran on the node that was killed
    assert "raylet" not in capfd.readouterr().out  # nothing of Ray on stdout
    assert res.status != "ok" and (res.stored, res.dead_letters) == (5, 25), res.errors
    assert "WF402" in {e["code"] for e in res.errors}
    letters = dict(rows(root, "select record_id, code from dead_letters"))
    assert {i for i, c in letters.items() if c == "WF402"} == {f"r{i}" for i in range(5, 10)}
    assert set(letters.values()) - {"WF402"} <= {"WF404", "WF405"}  # then the plugin is out
    assert rows(root, "select count(*), count(distinct id) from records") == [(5, 5)]
    if psutil.pid_exists(out["worker"]):
        _, alive = psutil.wait_procs([psutil.Process(out["worker"])], timeout=60)
        assert not alive  # the worker died with its node

    ray_node2.start()  # a node joins again: the replay runs there
    config, data = root / "wiseflow.toml", root / ".wiseflow"
    with ray_executor(ray_node2.head), stages(open_manager(config, data), root / "p.toml") as st:
        again = st.replay()
    assert (again.stored, again.dead_letters) == (25, 0)
    assert rows(root, "select count(*), count(distinct id) from records") == [(30, 30)]
    assert rows(root, "select count(*) from dead_letters") == [(0,)]
    assert all(t == t.upper() for (t,) in rows(root, "select title from records"))
