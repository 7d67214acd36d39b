"""``wiseflow run --watch``: a run that keeps polling its sources and reloads a processor
whose files change, between batches, without losing or repeating a record; a change that
fails its checks leaves the running version in place."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from wiseflow import RunResult, SandboxUnavailable, Watch, run_pipeline
from wiseflow._store import DB_NAME, Store

DEADLINE = 90.0  # generous: a loaded machine starts workers slowly

LINES = """\
import msgspec
from wiseflow import Checkpoint, ConnectorPlugin, Record


class Lines(ConnectorPlugin):
    class Config(msgspec.Struct):
        path: str

    def initialize(self, ctx):
        self.ctx = ctx

    def fetch(self, state):
        done = (state or {}).get("lines", 0)
        lines = self.ctx.read_path(self.ctx.config.path).decode().splitlines()
        for line in lines[done:]:
            yield Record(id=line, source=self.ctx.name, title=line)
        if len(lines) > done:  # nothing new: nothing at all (the engine sees no batch)
            yield Checkpoint(state={"lines": len(lines)})
"""
TAG = """\
from wiseflow import ProcessorPlugin


class Tag(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(title="{tag} " + r.title) for r in batch]
"""
TAG_MANIFEST = (
    '[plugin]\nname = "tag"\nversion = "1.0.0"\nkind = "processor"\nentry = "plugin:Tag"\n'
)
PIPELINE = """\
[pipeline]
name = "watched"
batch_size = 2

[[sources]]
plugin = "lines"
config = { path = "feed.txt" }

[[processors]]
plugin = "tag"
"""


def _write(path: Path, text: str) -> None:
    """Replace a file whole, as an editor saving it does (never seen half-written)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _project(root: Path) -> Path:
    (root / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n')
    lines = root / "plugins" / "lines"
    lines.mkdir(parents=True)
    (lines / "plugin.toml").write_text(
        '[plugin]\nname = "lines"\nversion = "1.0.0"\nkind = "connector"\n'
        'entry = "plugin:Lines"\n[plugin.permissions]\nfs_read = ["{path}"]\n'
    )
    (lines / "plugin.py").write_text(LINES)
    tag = root / "plugins" / "tag"
    tag.mkdir()
    (tag / "plugin.toml").write_text(TAG_MANIFEST)
    (tag / "plugin.py").write_text(TAG.replace("{tag}", "v1"))
    (root / "p.toml").write_text(PIPELINE)
    (root / "feed.txt").write_text("")
    return root


class Watched:
    """A watched run in a thread; its notices and stored counts as conditions to wait on."""

    def __init__(self, project: Path, **watch: Any) -> None:
        self.project = project
        self.notices: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stored = 0
        self.cond = threading.Condition()
        self.watch = Watch(poll_s=0.1, notify=lambda m, f: self.notices.put({**f, "m": m}),
                           **watch)  # fmt: skip
        self.result: RunResult | BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _progress(self, result: RunResult) -> None:
        with self.cond:
            self.stored = result.stored
            self.cond.notify_all()

    def _run(self) -> None:
        try:
            self.result = run_pipeline(
                self.project / "p.toml", config=self.project / "wiseflow.toml",
                data_dir=self.project / "data", watch=self.watch, progress=self._progress,
            )  # fmt: skip
        except BaseException as exc:
            self.result = exc
        finally:
            with self.cond:
                self.cond.notify_all()

    def feed(self, *ids: str) -> None:
        with (self.project / "feed.txt").open("a") as f:
            f.write("".join(f"{i}\n" for i in ids))

    def until_stored(self, n: int) -> None:
        with self.cond:
            ok = self.cond.wait_for(
                lambda: self.stored >= n or self.result is not None, timeout=DEADLINE
            )
        if isinstance(self.result, SandboxUnavailable):
            pytest.skip(f"sandbox unavailable here: {self.result}")
        assert ok and self.result is None, f"{n} records not stored: {self.result!r}"

    def notice(self, event: str) -> dict[str, Any]:
        """The next notice of ``event`` (others before it are passed over)."""
        while True:
            try:
                got = self.notices.get(timeout=DEADLINE)
            except queue.Empty:
                raise AssertionError(f"no {event!r} notice within {DEADLINE}s") from None
            if got["event"] == event:
                return got

    def stop(self) -> RunResult:
        self.watch.stop.set()
        self.thread.join(timeout=DEADLINE)
        assert isinstance(self.result, RunResult), self.result
        return self.result


def _titles(project: Path) -> dict[str, list[str]]:
    with Store.open(project / "data" / DB_NAME) as store:
        out: dict[str, list[str]] = {}
        for r in store.records():
            out.setdefault(r.id, []).append(r.title or "")
        return out


def test_an_edited_processor_takes_over_between_batches_and_broken_edits_are_refused(
    tmp_path: Path,
) -> None:
    """Records before the edit carry the old behaviour, after it the new; every id is
    stored once; a syntax error, an audit finding, a broken interface and a manifest
    asking for a new permission each keep the running version, and records keep flowing."""
    project = _project(tmp_path)
    plugin = project / "plugins" / "tag"
    run = Watched(project)
    run.thread.start()
    run.feed("a1", "a2", "a3")
    run.until_stored(3)

    _write(plugin / "plugin.py", TAG.replace("{tag}", "v2"))
    assert run.notice("pending")["instance"] == "tag"
    # the source is idle (it yields nothing): the swap still happens, at a batch boundary
    assert run.notice("reloaded")["plugin"] == "tag"
    run.feed("b1", "b2", "b3")
    run.until_stored(6)

    v3 = TAG.replace("{tag}", "v3")
    network = TAG_MANIFEST + '[plugin.permissions]\nnetwork = ["example.org:443"]\n'
    # each edit, as files written in this order: any state in between is refused too
    broken: list[tuple[str, str, dict[str, str]]] = [
        ("syntax", "WF302", {"plugin.py": TAG + "x = (\n"}),
        ("audit", "WF302", {"plugin.py": "import os\nos.system('id')\n" + v3}),
        ("interface", "WF102", {"plugin.py": v3.replace("class Tag", "class Other")}),
        ("manifest", "WF301", {"plugin.toml": network, "plugin.py": v3}),
    ]
    for n, (what, code, files) in enumerate(broken):
        for name, text in files.items():
            _write(plugin / name, text)
        refused = run.notice("refused")
        assert refused["code"] == code, (what, refused)
        run.feed(f"{what}1", f"{what}2")
        run.until_stored(8 + 2 * n)

    result = run.stop()
    assert result.status == "ok", result.to_dict()
    titles = _titles(project)
    assert all(len(t) == 1 for t in titles.values()), "a record was stored twice"
    assert {i: t[0].split()[0] for i, t in titles.items()} == {
        **{f"a{i}": "v1" for i in (1, 2, 3)},
        **{f"b{i}": "v2" for i in (1, 2, 3)},
        **{f"{w}{i}": "v2" for w, _, _ in broken for i in (1, 2)},
    }
    assert result.fetched == len(titles) and result.duplicates == 0


def test_a_changed_locked_plugin_is_refused_unless_reapproval_is_allowed(tmp_path: Path) -> None:
    """A locked plugin's edit is WF303 by default (old version runs on); with
    ``reapprove`` its lock entry is rewritten and the new version takes over."""
    from wf_cli import wf

    project = _project(tmp_path)
    plugin = project / "plugins" / "tag"
    done = wf("plugins", "grant", "tag", cwd=project)
    assert done.returncode == 0, done.stderr
    lock_before = (project / "wiseflow.lock").read_text()

    run = Watched(project)
    run.thread.start()
    run.feed("a1", "a2")
    run.until_stored(2)
    _write(plugin / "plugin.py", TAG.replace("{tag}", "v2"))
    assert run.notice("refused")["code"] == "WF303"
    run.feed("b1", "b2")
    run.until_stored(4)
    run.stop()
    assert (project / "wiseflow.lock").read_text() == lock_before

    _write(plugin / "plugin.py", TAG.replace("{tag}", "v1"))  # back to what was approved

    run = Watched(project, reapprove=True)  # re-approval never grants a new permission
    run.thread.start()
    run.notice("watching")
    _write(plugin / "plugin.toml", TAG_MANIFEST + '[plugin.permissions]\nenv = ["HOME"]\n')
    assert run.notice("refused")["code"] == "WF303"
    run.stop()
    assert (project / "wiseflow.lock").read_text() == lock_before
    _write(plugin / "plugin.toml", TAG_MANIFEST)

    run = Watched(project, reapprove=True)
    run.thread.start()
    run.feed("c1", "c2")
    run.until_stored(2)
    _write(plugin / "plugin.py", TAG.replace("{tag}", "v2"))
    run.notice("pending")
    run.feed("d1", "d2")
    run.until_stored(4)
    run.stop()
    assert (project / "wiseflow.lock").read_text() != lock_before
    titles = {i: t[0].split()[0] for i, t in _titles(project).items()}
    assert [titles[i] for i in ("a1", "b1", "c1", "d1", "d2")] == ["v1", "v1", "v1", "v2", "v2"]
    again = run_pipeline(  # the re-approved files pass a plain run's identity check
        project / "p.toml", config=project / "wiseflow.toml", data_dir=project / "data"
    )
    assert again.status == "ok"


def test_ctrl_c_ends_a_watched_run_with_130_and_the_run_recorded(tmp_path: Path) -> None:
    """`wiseflow run --watch` keeps running after its source is drained; a refused reload's
    notice shows the plugin's text without its terminal escapes; SIGINT ends the run: exit
    130, the records stored, the run marked interrupted."""
    from wf_cli import sigint_default

    project = _project(tmp_path)
    (project / "feed.txt").write_text("a1\na2\na3\n")
    with sigint_default():  # the Ctrl-C this test sends must reach it
        proc = subprocess.Popen(
            [sys.executable, "-m", "wiseflow", "run", "p.toml", "--watch", "--poll", "0.1",
             "--data-dir", "data"],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    seen: list[str] = []  # stderr as read while the run went on
    try:
        assert proc.stderr is not None

        def until(text: str) -> None:  # stderr lines are the events; EOF ends the wait
            line = "-"
            while line and text not in line:
                line = proc.stderr.readline() if proc.stderr else ""
                seen.append(line)
            assert line, f"no {text!r} on stderr: {''.join(seen)}"

        until("watch: watching")
        hostile = TAG.replace("{tag}", "v2") + (
            "\n    def initialize(self, ctx):\n"
            "        raise RuntimeError('\\x1b[2J\\x1b]0;pwned\\x07 gone')\n"
        )
        _write(project / "plugins" / "tag" / "plugin.py", hostile)
        until("watch: tag: change refused")
        _write(project / "plugins" / "tag" / "plugin.py", TAG.replace("{tag}", "v2"))
        until("watch: tag: reloaded")
        assert proc.poll() is None, "the watched run ended by itself"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "pwned" in err, "the refusal names what the plugin said"
    assert "\x1b" not in err and "\x07" not in err, "a plugin's text reached the terminal raw"
    with Store.open(project / "data" / DB_NAME) as store:
        assert {r.id for r in store.records()} == {"a1", "a2", "a3"}
        assert [r["status"] for r in store.runs()] == ["interrupted"]


def test_a_plugin_folder_too_big_to_look_at_often_is_not_watched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder over the file limit is left out (None), not walked four times a second;
    editors' dot files and bytecode never count as a change."""
    from wiseflow._run import _watch

    folder = tmp_path / "p"
    (folder / "__pycache__").mkdir(parents=True)
    for name in ("a.py", "b.py", ".a.py.swp", "__pycache__/a.cpython-311.pyc"):
        (folder / name).write_text("x")
    assert set(_watch.snapshot(str(folder)) or {}) == {"a.py", "b.py"}
    monkeypatch.setattr(_watch, "MAX_FILES", 1)
    assert _watch.snapshot(str(folder)) is None


COUNT = """\
from wiseflow import AnalyzerPlugin


class Count(AnalyzerPlugin):
    def initialize(self, ctx):
        self.n = 0

    def analyze(self, batch):
        self.n += len(batch)

    def result(self):
        return {"{key}": self.n}
"""


def test_an_edited_analyzer_keeps_its_run_and_the_change_is_for_the_next(tmp_path: Path) -> None:
    """An analyzer's result covers the whole run: its change is announced for the next run,
    and the running instance keeps counting every record."""
    project = _project(tmp_path)
    folder = project / "plugins" / "count"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "count"\nversion = "1.0.0"\nkind = "analyzer"\nentry = "plugin:Count"\n'
    )
    (folder / "plugin.py").write_text(COUNT.replace("{key}", "old"))
    with (project / "p.toml").open("a") as f:
        f.write('\n[[analyzers]]\nplugin = "count"\n')
    run = Watched(project)
    run.thread.start()
    run.feed("a1", "a2")
    run.until_stored(2)
    _write(folder / "plugin.py", COUNT.replace("{key}", "new"))
    assert run.notice("next-run")["instance"] == "count"
    run.feed("b1", "b2")
    run.until_stored(4)
    assert run.stop().analyzers["count"] == {"old": 4}
