"""Cleanup: disabling, shutting down or uninstalling a plugin releases what it held —
worker process group, scratch files, host fds, threads, event subscriptions."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from resilience_kit import children_of, open_fds, write_plugin

from wiseflow import PluginState, ProcessorPlugin, Record, WiseflowWarning

SPAWNER = """
import subprocess
class P(ProcessorPlugin):
    def initialize(self, ctx):
        self.kids = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]

    def process(self, batch):
        return batch

    def kid_pids(self):
        return [k.pid for k in self.kids]
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _scratch_dirs(name: str) -> set[str]:
    import tempfile

    root = Path(tempfile.gettempdir())
    return {p.name for p in root.glob(f"wiseflow-{name}-*")}


@pytest.mark.parametrize("how", ["disable", "shutdown", "uninstall"])
def test_releasing_a_sandboxed_plugin_leaves_nothing_behind(
    tmp_path: Path, wiseflow_manager: Any, how: str
) -> None:
    """After disable/shutdown/uninstall the worker and its children are gone, its scratch
    dir is removed, and the host's fds, threads and child processes are back to before."""
    write_plugin(
        tmp_path / "plugins", "spawner", SPAWNER, extra="[plugin.permissions]\nsubprocess = true\n"
    )
    (tmp_path / "wiseflow.toml").write_text("")
    from wiseflow._policy._operator import Grant, OperatorConfig, PluginPolicy

    cfg = OperatorConfig(plugins={"spawner": PluginPolicy(grant=Grant(subprocess=True))})
    pm = wiseflow_manager(plugin_dirs=[tmp_path / "plugins"], level="sandboxed", config=cfg)
    pm.start("spawner")  # warm-up: the spawner thread and imports stay for the process
    pm.shutdown("spawner")
    fds, threads = open_fds(), threading.active_count()
    kids, scratch = children_of(os.getpid()), _scratch_dirs("spawner")
    handle = pm.start("spawner")
    worker = handle.runner.pid()
    grandchildren = handle.invoke("kid_pids")
    assert all(_alive(p) for p in [worker, *grandchildren])
    assert handle.describe(sample=True)["resources"]["children"] == 2  # metered from /proc
    subscription_dropped = how != "disable"
    pm.events.subscribe(lambda e: None, plugin="spawner")
    getattr(pm, how)("spawner")
    deadline = time.monotonic() + 2
    while any(_alive(p) for p in [worker, *grandchildren]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(_alive(p) for p in [worker, *grandchildren])
    assert children_of(os.getpid()) == kids
    assert _scratch_dirs("spawner") == scratch
    assert open_fds() == fds
    assert threading.active_count() == threads
    assert (len(pm.events) == 0) is subscription_dropped


def test_disabled_plugin_comes_back_on_enable(tmp_path: Path, wiseflow_manager: Any) -> None:
    """enable() after disable() starts a fresh worker that serves again."""
    write_plugin(tmp_path / "plugins", "plain", "class P(ProcessorPlugin):\n"
                 "    def process(self, batch):\n        return batch\n")  # fmt: skip
    pm = wiseflow_manager(plugin_dirs=[tmp_path / "plugins"], level="sandboxed")
    handle = pm.start("plain")
    first = handle.runner.pid()
    pm.disable("plain")
    assert handle.runner.pid() is None and handle.health() == {"ok": True}
    pm.enable("plain")
    assert handle.state is PluginState.ACTIVE and handle.runner.pid() not in (None, first)
    assert handle.process([Record(id="1", source="t")])[0].id == "1"


def test_trusted_plugin_threads_are_joined_on_shutdown(wiseflow_manager: Any) -> None:
    """Threads a trusted plugin starts and stops in shutdown() are gone, without warning."""

    class Tidy(ProcessorPlugin):
        name = "tidy"

        def initialize(self, ctx: Any) -> None:
            self.stop = threading.Event()
            self.t = threading.Thread(target=self.stop.wait, name="tidy-poller")
            self.t.start()

        def process(self, batch: list[Record]) -> list[Record]:
            return batch

        def shutdown(self) -> None:
            self.stop.set()

    pm = wiseflow_manager(Tidy)
    before = threading.active_count()
    handle = pm.start("tidy")
    assert threading.active_count() == before + 1
    assert [t.name for t in handle.threads.threads] == ["tidy-poller"]
    pm.shutdown("tidy")
    assert threading.active_count() == before


def test_trusted_plugin_threads_that_will_not_stop_are_warned_about(wiseflow_manager: Any) -> None:
    """A thread a trusted plugin leaves running after shutdown is named in a WiseflowWarning."""
    release = threading.Event()

    class Leaky(ProcessorPlugin):
        name = "leaky"

        def process(self, batch: list[Record]) -> list[Record]:
            threading.Thread(target=release.wait, name="leaky-forever", daemon=True).start()
            return batch

    pm = wiseflow_manager(Leaky)
    pm.start("leaky").process([Record(id="1", source="t")])
    try:
        with pytest.warns(WiseflowWarning, match="leaky-forever"):
            pm.shutdown("leaky")
    finally:
        release.set()


def test_threads_running_before_a_call_are_never_blamed_on_the_plugin(
    wiseflow_manager: Any,
) -> None:
    """A thread the embedding program (or a library, or a test server) started before the
    call is not the plugin's, even when the plugin starts one of its own during the call:
    only the plugin's thread is watched, and shutting the plugin down warns about nothing."""
    stop = threading.Event()
    bystander = threading.Thread(target=stop.wait, name="embedder-server", daemon=True)
    bystander.start()

    class Starter(ProcessorPlugin):
        name = "starter"

        def initialize(self, ctx: Any) -> None:
            self.done = threading.Event()
            self.t: threading.Thread | None = None

        def process(self, batch: list[Record]) -> list[Record]:
            if self.t is None:
                self.t = threading.Thread(target=self.done.wait, name="starter-worker")
                self.t.start()
            return batch

        def shutdown(self) -> None:
            self.done.set()

    try:
        pm = wiseflow_manager(Starter)
        handle = pm.start("starter")
        handle.process([Record(id="1", source="t")])
        assert [t.name for t in handle.threads.threads] == ["starter-worker"]
        pm.shutdown("starter")  # warnings are errors: blaming the bystander would fail here
        assert bystander.is_alive()
    finally:
        stop.set()
        bystander.join(5)
