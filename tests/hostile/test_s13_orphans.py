"""Orphans: what a sandboxed plugin forks must not outlive a host that is killed.

The attacker forks a child that loops forever in the plugin's data dir, then keeps its call
busy. The operator's host is killed (SIGKILL, as the OOM killer does). The worker dies
with it (``PR_SET_PDEATHSIG``), but the child carries no death signal (``fork`` clears it)
and, before, ran on for good: confined, but writing to the data dir with nobody enforcing
``max_data_mb``. Now the host records each worker in ``<data_dir>/workers/``, and the next
host to start a worker kills what is left of a dead worker's process group (and says so);
a live host's workers are never touched.

The static audit flags ``os.fork``; a determined author slips past it (see
``test_static_bypass``), so the operator's ``audit_block`` is raised here to meet the
boundary that must hold.

Positive control: after the host is killed and its worker is gone, the child is still
running (the attack works until a host sweeps).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_kit import PIPELINE, SOURCE, document, project, wf

from wiseflow._sandbox._orphans import FOLDER, sweep_orphans

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="only a root host gives workers uids of their own to sweep by"
)

ATTACKER = """
import os, time
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        if os.path.exists(os.path.join(os.path.dirname(__file__), "calm")):
            return batch
        data = str(self.ctx.data_dir)
        if os.fork() == 0:
            with open(os.path.join(data, "child.pid"), "w") as f:
                f.write(str(os.getpid()))
            while True:
                time.sleep(0.2)
                with open(os.path.join(data, "alive"), "w") as f:
                    f.write(str(time.time()))
        with open(os.path.join(data, "worker.pid"), "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)
        return batch
"""


def _until(condition: Callable[[], bool], what: str, deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline_s:g} s: {what}")
        time.sleep(0.05)


def _state(pid: int) -> str | None:
    """The kernel's state letter of ``pid`` (Z: exited, unreaped), None when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _running(pid: int) -> bool:
    return _state(pid) not in (None, "Z", "X")


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    root = project(
        tmp_path, {"innocent": ("connector", SOURCE), "attacker": ("processor", ATTACKER)},
        PIPELINE, toml_extra='audit_block = "critical"\n',
    )  # fmt: skip
    yield root
    child = root / ".wiseflow" / "plugins" / "attacker" / "child.pid"
    if child.exists() and _running(pid := int(child.read_text())):
        os.kill(pid, signal.SIGKILL)  # the test's own attacker, if an assertion failed


def test_a_child_forked_under_a_killed_host_is_swept_by_the_next_host(root: Path) -> None:
    """A live host's group is left alone; once its host is killed, the next run kills it."""
    data = root / ".wiseflow" / "plugins" / "attacker"
    host = subprocess.Popen(
        [sys.executable, "-m", "wiseflow", "run", "p.toml"], cwd=root,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _until(lambda: host.poll() is not None or (data / "worker.pid").exists(),
               "the attacker forked")  # fmt: skip
        assert host.poll() is None, "the run ended before the attack"
        _until(lambda: (data / "child.pid").exists(), "the child wrote its pid")
        child, worker = (
            int((data / "child.pid").read_text()),
            int((data / "worker.pid").read_text()),
        )
        folder = root / ".wiseflow" / FOLDER
        assert str(worker) in os.listdir(folder)
        # a sweep while the host lives touches nothing of it
        assert sweep_orphans(folder) == []
        assert _running(child) and _running(worker)
    finally:
        host.kill()  # SIGKILL: the host gets no chance to stop its workers
        host.wait(30)
    _until(lambda: not _running(worker), "the worker died with its host")
    # positive control: the child outlived its worker and its host
    assert _running(child)

    (root / "plugins" / "attacker" / "calm").write_text("")
    res = wf("--json", "run", "p.toml", "--full-refresh", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr
    assert document(res)["status"] == "ok"
    _until(lambda: not _running(child), "the next host killed the orphan")
    assert b"killed 1 process(es) that plugins forked under a wiseflow host that died" in (
        res.stderr
    )
    assert os.listdir(folder) == []  # its own workers stopped, their records gone


def test_a_record_naming_a_real_account_kills_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hand-made record (uid 0, a dead "worker" whose pid is now a live group's leader)
    names no plugin uid: the sweep leaves that group alone. Control: with the uid guard off,
    the same record kills the process (a pgid and a uid are all the sweep compares)."""
    import wiseflow._sandbox._orphans as orphans

    folder = tmp_path / FOLDER
    folder.mkdir()
    for guarded in (True, False):
        victim = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
        )
        try:
            assert os.getpgid(victim.pid) == victim.pid  # the group the record names
            (folder / str(victim.pid)).write_text("0 1\n", encoding="ascii")  # start 1: dead
            if not guarded:
                monkeypatch.setattr(orphans, "_PLUGIN_UIDS", range(1))
            killed = sweep_orphans(folder)
            if guarded:
                assert killed == [] and victim.poll() is None  # still running
            else:
                assert killed == [victim.pid]
                assert victim.wait(timeout=30) == -signal.SIGKILL
        finally:
            victim.kill()
            victim.wait(timeout=30)
