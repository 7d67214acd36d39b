"""SPEC §6/§15 `wiseflow top` from outside, its output going to a pipe or a log.

Found from outside: `wiseflow top | head` (or `wiseflow top > top.log`) printed nothing at
all until Ctrl-C: the live display only draws on a terminal. Off a terminal it now prints a
table per interval, as `top -b` does.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path


def test_c3_top_into_a_pipe_prints_a_table_per_interval(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wiseflow", "top", "--interval", "0.1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 60  # generous: two tables are expected within a second
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while seen.count(b"wiseflow top") < 2 and time.monotonic() < deadline:
                if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        break  # it exited
                    seen += chunk
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert seen.count(b"wiseflow top") >= 2, seen[-2000:]
    assert b"no running wiseflow host writes metrics" in seen, seen[-2000:]
