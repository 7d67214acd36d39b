"""The operator's terminal: a sandboxed worker holds no descriptor of it and cannot open it.

The host runs on a terminal (a pseudo-terminal here, its controlling terminal). From the
terminal a process can inject keystrokes into the operator's shell (``TIOCSTI``: this
kernel allows it, ``dev.tty.legacy_tiocsti = 1``) and write raw escape sequences (window
title, clipboard). The attacker looks for a terminal among its descriptors, opens
``/dev/tty``, injects with ``TIOCSTI`` on every descriptor and writes an escape sequence to
stdout and stderr. None of it reaches the terminal: the worker's stdin is ``/dev/null``, its
stdout and stderr are pipes the host reads (and escapes), it has a session of its own with
no controlling terminal, and Landlock keeps ``/dev/pts`` out of reach.

Positive control: the same code run by the host process itself (what a plugin the operator
runs ``trusted`` may do) finds the terminal, opens ``/dev/tty``, and the injected keystrokes
and the raw escape sequence show on the terminal.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

GRAB = """
import errno, fcntl, os, termios

def grab():
    out = {"ttys": [fd for fd in range(32) if os.isatty(fd)]}
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
        os.write(fd, b"\\x1b]0;PWNED-DEVTTY\\x07")
        out["dev_tty"] = "opened"
    except OSError as exc:
        out["dev_tty"] = exc.errno
    out["sti"] = 0
    for fd in range(32):
        try:
            for ch in b"PWNED-STI":
                fcntl.ioctl(fd, termios.TIOCSTI, bytes([ch]))
            out["sti"] += 1
        except OSError:
            pass
    for fd in (1, 2):
        try:
            os.write(fd, b"\\x1b]0;PWNED-RAW\\x07\\n")
        except OSError:
            pass
    return out
"""

ATTACKER = (
    GRAB
    + """
class P(ProcessorPlugin):
    def process(self, batch):
        return batch

    def grab(self):
        return grab()
"""
)

HOST = """
import fcntl, json, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the terminal becomes this session's, as a login's
sys.path.insert(0, {kit!r})
from pathlib import Path
from sandbox_kit import WITNESS, make_runner_factory
from wiseflow import Record
factory, made = make_runner_factory(Path({tmp!r}))
if {sandboxed!r}:
    got = factory({attacker!r}, name="grabber").call("grab", [], 10)
    witness = factory(WITNESS, name="witness").call("process", [[Record(id="w", source="t")]], 10)
    got["witness"] = witness[0].annotations == {{"witness": True}}
else:
    exec({grab!r})
    got = grab()
for r in made:
    r.close()
with open({result!r}, "w") as f:
    json.dump(got, f)
"""


def _on_a_terminal(tmp_path: Path, *, sandboxed: bool) -> tuple[dict[str, object], bytes]:
    """Run a host on a fresh pseudo-terminal; (what it found, what the terminal showed)."""
    result = tmp_path / f"result-{sandboxed}.json"
    script = textwrap.dedent(HOST).format(
        kit=str(Path(__file__).resolve().parents[1] / "sandbox"), tmp=str(tmp_path),
        sandboxed=sandboxed, attacker=ATTACKER, grab=GRAB, result=str(result),
    )  # fmt: skip
    master, slave = os.openpty()
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave end is closed
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        host = subprocess.Popen(
            [sys.executable, "-c", script], stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        slave = -1
        assert host.wait(120) == 0, bytes(shown).decode(errors="replace")
        reader.join(30)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return json.loads(result.read_text()), bytes(shown)


@pytest.mark.skipif(not Path("/dev/ptmx").exists(), reason="no pseudo-terminals here")
def test_a_worker_cannot_reach_the_operators_terminal(tmp_path: Path) -> None:
    got, shown = _on_a_terminal(tmp_path, sandboxed=True)
    assert got["ttys"] == []
    assert got["dev_tty"] in (errno.ENXIO, errno.EACCES, errno.EPERM)
    assert got["sti"] == 0
    assert got["witness"] is True
    assert b"PWNED-STI" not in shown
    assert b"\x1b]0;PWNED" not in shown


@pytest.mark.skipif(not Path("/dev/ptmx").exists(), reason="no pseudo-terminals here")
def test_positive_control_the_host_process_itself_reaches_it(tmp_path: Path) -> None:
    got, shown = _on_a_terminal(tmp_path, sandboxed=False)
    assert got["ttys"] == [0, 1, 2]
    assert got["dev_tty"] == "opened"
    assert b"\x1b]0;PWNED-DEVTTY\x07" in shown
    assert b"\x1b]0;PWNED-RAW\x07" in shown
    legacy = Path("/proc/sys/dev/tty/legacy_tiocsti")
    if legacy.exists() and legacy.read_text().strip() == "0":
        pytest.skip("this kernel refuses TIOCSTI to everyone (dev.tty.legacy_tiocsti = 0)")
    assert got["sti"] >= 1
    assert b"PWNED-STI" in shown  # the injected keys, echoed as typed input
