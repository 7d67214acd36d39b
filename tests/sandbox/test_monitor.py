"""The worker's audit-hook monitor, called directly (never installed in the test process:
audit hooks cannot be removed). What is reported, what is not, and how it is bounded."""

from __future__ import annotations

import os
from pathlib import Path

from wiseflow._sandbox._messages import Result, Telemetry
from wiseflow._sandbox._monitor import SAMPLES, TARGETS, Monitor


def _monitor(tmp_path: Path) -> Monitor:
    mon = Monitor(exec_denied=True)
    data, folder = tmp_path / "data", tmp_path / "plugin"
    data.mkdir()
    folder.mkdir()
    mon.configure([str(data), str(folder)], [str(folder)])
    return mon


def test_own_files_are_quiet_and_escapes_by_name_are_not(tmp_path: Path) -> None:
    mon = _monitor(tmp_path)
    flags = os.O_RDONLY | os.O_CLOEXEC
    mon.hook("open", (str(tmp_path / "data" / "state.json"), "r", flags))
    mon.hook("open", (str(tmp_path / "plugin" / "words.txt"), "r", flags))
    mon.hook("open", (3, "r", flags))  # an fd: opened before
    mon.hook("open", ("/dev/null", "w", os.O_WRONLY))
    assert mon.take(force=True) is None  # nothing of its own is reported
    mon.hook("open", (str(tmp_path / "data" / ".." / "secret"), "r", flags))  # not inside
    mon.hook("open", (str(tmp_path / "database"), "w", os.O_WRONLY | os.O_CREAT))  # a sibling
    delta = mon.take(force=True)
    assert delta is not None
    assert delta["counts"] == {"file": 2}
    whats = [s[0] for s in delta["samples"]["file"]]
    assert f"open {tmp_path / 'secret'} (read)" in whats
    assert f"open {tmp_path / 'database'} (write)" in whats


def test_counts_samples_and_targets_are_bounded_and_sent_as_deltas(tmp_path: Path) -> None:
    mon = _monitor(tmp_path)
    for i in range(10_000):
        mon.hook("socket.connect", (None, ("10.0.0.1", i)))
    frame = mon.frame_for(Result(id=1))  # a reply carries what is waiting
    assert isinstance(frame, Telemetry)
    assert frame.counts == {"network": 10_000}
    assert len(frame.samples["network"]) == SAMPLES
    assert len(frame.targets["network"]) == TARGETS
    assert mon.frame_for(Result(id=2)) is None  # sent: nothing waits
    mon.hook("socket.connect", (None, ("10.0.0.1", 1)))
    later = mon.take(force=True)
    assert later is not None and later["counts"] == {"network": 1}
    assert later["samples"] == {}  # the first samples were sent already


def test_process_execution_is_refused_only_when_the_filter_denies_it(tmp_path: Path) -> None:
    for denied, outcome in ((True, "refused"), (False, "attempted")):
        mon = Monitor(exec_denied=denied)
        mon.configure([str(tmp_path)], [])
        mon.hook("subprocess.Popen", ("/bin/true", ["/bin/true"], None, None))
        delta = mon.take(force=True)
        assert delta is not None
        assert delta["samples"]["process"][0][2] == outcome
        assert delta["refused"] == ({"process": 1} if denied else {})


def test_unwatched_events_and_an_unconfigured_monitor_report_nothing(tmp_path: Path) -> None:
    mon = Monitor(exec_denied=True)
    mon.hook("open", ("/etc/shadow", "r", 0))  # before the plugin is loaded
    mon.configure([str(tmp_path)], [])
    mon.hook("sys._getframe", (None,))
    mon.hook("object.__getattr__", (None, "x"))
    assert mon.take(force=True) is None
