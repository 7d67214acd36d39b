"""Helpers of the dashboard tests. The project they run for real: a source the test
releases record by record, a processor that fails with hostile text on record 2 and on every
record from 9 on (its breaker, opening after 2 failures in a row, opens then), and the
bundled `upper`."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@contextmanager
def headless_chromium(*extra: str) -> Iterator[Any]:
    """Headless Chromium with ``extra`` arguments, quit on the way out (the test is skipped,
    saying what is missing, where Selenium, chromium or its driver is not installed)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.skip(f"{path} is not installed (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", *extra):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


#: What a failing plugin says: the page must show it as text, never run or render it.
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">\x1b[31m'

GATED = """\
import os, time
import msgspec
from wiseflow import ConnectorPlugin, Record

class Gated(ConnectorPlugin):
    '''Yields record i once the file `go` beside the project says at least i+1 (the test
    releases records); stops at `total` or when `go` says -1.'''

    class Config(msgspec.Struct, frozen=True):
        total: int = 10

    def fetch(self, state):
        total = self.ctx.config.total
        go = os.path.join(os.environ["WF_TEST_CTL"], "go")
        deadline = time.monotonic() + 120
        i = 0
        while i < total and time.monotonic() < deadline:
            try:
                allowed = int(open(go).read() or 0)
            except (OSError, ValueError):
                allowed = 0
            if allowed < 0:
                return
            while i < min(allowed, total):
                title = "bad one" if i == 2 or i >= 9 else f"item {i}"
                yield Record(id=str(i), source="gated", title=title)
                i += 1
            time.sleep(0.02)
"""

FLAKY = f"""\
from wiseflow import ProcessorPlugin

class Flaky(ProcessorPlugin):
    def process(self, batch):
        if any("bad" in r.title for r in batch):
            try:  # an attempt its worker's audit hook reports (hostile text in the sample)
                open("/etc/" + {HOSTILE!r}).close()
            except OSError:
                pass
            raise ValueError({HOSTILE!r})
        return batch
"""

PIPELINE = """\
[pipeline]
name = "live"
batch_size = 1
[[sources]]
plugin = "gated"
config = { total = 60 }
[[processors]]
plugin = "flaky"
[[processors]]
plugin = "upper"
"""


def _plugin(root: Path, name: str, kind: str, code: str, cls: str) -> None:
    folder = root / "plugins" / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "{kind}"\nentry = "plugin:{cls}"\n'
    )
    (folder / "plugin.py").write_text(textwrap.dedent(code))


def release(project: Path, upto: int) -> None:
    """Let the gated source yield records 0..upto-1 (-1: end the source)."""
    tmp = project / "ctl" / ".go"
    tmp.write_text(str(upto))
    os.replace(tmp, project / "ctl" / "go")


def wait_for(check: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    """Poll ``check`` until it returns something truthy (a generous deadline, no timing luck)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # not there yet (a page being redrawn, a file being replaced)
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class LiveRun:
    """`wiseflow run p.toml --json ARGS` in a process of its own, its stderr lines queued."""

    def __init__(self, project: Path, *args: str) -> None:
        self.project = project
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wiseflow", "run", "p.toml", "--json", *args],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "WF_TEST_CTL": str(project / "ctl")},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def line_starting(self, prefix: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise AssertionError(f"no line {prefix!r} on stderr: {''.join(self.stderr)}")

    def snapshot(self) -> dict[str, Any]:
        """What the run published last (its collector's snapshot)."""
        path = self.project / ".wiseflow" / "metrics" / f"{self.proc.pid}.json"
        doc: dict[str, Any] = json.loads(path.read_text())
        return doc

    def plugin(self, name: str) -> dict[str, Any]:
        (found,) = [p for p in self.snapshot()["plugins"] if p["name"] == name]
        return found

    def wait_fetched(self, n: int) -> None:
        """Wait until the source has handed on ``n`` records and they went through."""
        wait_for(lambda: (self.snapshot()["run"].get("records") or {}).get("fetched", 0) >= n
                 and self.plugin("flaky")["records_in"] >= n, f"{n} records fetched")  # fmt: skip

    def finish(self, timeout: float = 120.0) -> tuple[int, str]:
        release(self.project, -1)
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


def write_project(tmp_path: Path) -> Path:
    """A project folder: wiseflow.toml (trusted; flaky sandboxed, its breaker opening after
    2 failures),
    the plugins, p.toml, and `ctl/go` (0: no record released yet)."""
    (tmp_path / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "trusted"\n'
        '[plugins.flaky]\nlevel = "sandboxed"\nbreaker = { failures = 2, reset_s = 600 }\n'
    )
    _plugin(tmp_path, "gated", "connector", GATED, "Gated")
    _plugin(tmp_path, "flaky", "processor", FLAKY, "Flaky")
    (tmp_path / "p.toml").write_text(PIPELINE)
    (tmp_path / "ctl").mkdir()
    (tmp_path / "ctl" / "go").write_text("0")
    return tmp_path
