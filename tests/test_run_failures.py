"""`wiseflow run` when plugins misbehave: the cause is reported, nothing is lost, no crash."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def wf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip


SOURCE = """\
from wiseflow import Checkpoint, ConnectorPlugin, Record, SkipRecord

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(6):
            if {skip} and i == 4:
                raise SkipRecord("r4", "unreadable entry")
            yield Record(id=f"r{{i}}", source=self.ctx.name, title=f"t{{i}}")
        yield Checkpoint(state={{"done": True}})
"""


def project(tmp_path: Path, level: str, plugins: dict[str, tuple[str, str]], pipeline: str) -> Path:
    (tmp_path / "wiseflow.toml").write_text(
        f'[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "{level}"\n'
    )
    for name, (kind, code) in plugins.items():
        folder = tmp_path / "plugins" / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(
            f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\nentry = "plugin:P"\n'
        )
        (folder / "plugin.py").write_text(textwrap.dedent(code))
    (tmp_path / "p.toml").write_text(textwrap.dedent(pipeline))
    return tmp_path


PIPE = """\
[pipeline]
name = "t"
batch_size = 3
[[sources]]
plugin = "src"
[[processors]]
plugin = "proc"
"""


def proc_returning(expr: str, imports: str = "") -> str:
    """A processor whose process(batch) returns ``expr``."""
    return (
        f"{imports}from wiseflow import ProcessorPlugin\n"
        "class P(ProcessorPlugin):\n"
        f"    def process(self, batch):\n        return {expr}\n"
    )


def rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    return list(sqlite3.connect(root / ".wiseflow" / "wiseflow.db").execute(sql))


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_processor_returning_garbage_dead_letters_its_records(tmp_path: Path, level: str) -> None:
    """A processor returning non-Records is a plugin failure (WF400), not an internal error."""
    proc = proc_returning("[1 for _ in batch]")
    src = SOURCE.format(skip=False)
    root = project(tmp_path, level, {"src": ("connector", src), "proc": ("processor", proc)}, PIPE)
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["records"]["fetched"] == 6 and doc["records"]["dead_letters"] == 6
    codes = {r[0] for r in rows(root, "select code from dead_letters")}
    assert codes == {"WF400"}
    reason = rows(root, "select reason from dead_letters")[0][0]
    assert "not a list of Record" in str(reason)


def test_crashing_sandboxed_processor_is_reported_with_its_real_code(tmp_path: Path) -> None:
    """A worker that dies makes the run fail with WF402 in errors; every record accounted for."""
    proc = proc_returning("os._exit(3)", imports="import os\n")
    root = project(
        tmp_path, "sandboxed",
        {"src": ("connector", SOURCE.format(skip=False)), "proc": ("processor", proc)}, PIPE,
    )  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert doc["status"] == "failed"
    assert "WF402" in [e["code"] for e in doc["errors"]]
    assert "WF402" in doc["plugins"]["proc"]["error_codes"]
    assert doc["records"]["stored"] + doc["records"]["dead_letters"] == 6
    assert "WF402" in {r[0] for r in rows(root, "select code from dead_letters")}


def test_skip_record_from_fetch_and_analyze_goes_to_dead_letters(tmp_path: Path) -> None:
    """SkipRecord from fetch dead-letters that id; from analyze, the batch continues after it."""
    ana = """\
    from wiseflow import AnalyzerPlugin, SkipRecord

    class P(AnalyzerPlugin):
        def initialize(self, ctx):
            self.ctx = ctx
            self.seen = []

        def analyze(self, batch):
            for r in batch:
                if r.id == "r1":
                    raise SkipRecord("r1", "cannot analyse")
                self.seen.append(r.id)

        def result(self):
            return {"seen": self.seen}
    """
    pipe = PIPE.replace('[[processors]]\nplugin = "proc"\n', '[[analyzers]]\nplugin = "ana"\n')
    root = project(
        tmp_path, "trusted",
        {"src": ("connector", SOURCE.format(skip=True)), "ana": ("analyzer", ana)}, pipe,
    )  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=root)
    doc = json.loads(res.stdout)
    assert doc["analyzers"]["ana"]["seen"] == ["r0", "r2", "r3"]
    dead = rows(root, "select record_id, plugin, code from dead_letters order by record_id")
    assert dead == [("r1", "ana", "WF408"), ("r4", "src", "WF408")]
    assert doc["records"]["stored"] == 4


def test_processor_cannot_move_records_to_another_source(tmp_path: Path) -> None:
    """Records whose source a processor rewrote are still stored under their connector."""
    proc = proc_returning("[r.replace(source='x') for r in batch]")
    root = project(
        tmp_path, "trusted",
        {"src": ("connector", SOURCE.format(skip=False)), "proc": ("processor", proc)}, PIPE,
    )  # fmt: skip
    doc = json.loads(wf("run", "p.toml", "--json", cwd=root).stdout)
    assert doc["records"]["stored"] == 6 and doc["records"]["duplicates"] == 0
    assert rows(root, "select distinct source from records") == [("src",)]


def test_stage_of_the_wrong_kind_is_bad_input(tmp_path: Path) -> None:
    """A processor listed under [[sources]] is WF501 with its line, exit 2, before any run."""
    proc = proc_returning("batch")
    pipe = '[pipeline]\nname = "t"\n[[sources]]\nplugin = "proc"\n'
    root = project(tmp_path, "trusted", {"proc": ("processor", proc)}, pipe)
    res = wf("run", "p.toml", cwd=root)
    assert res.returncode == 2
    assert "error WF501: [[sources]] plugin 'proc' is a processor, not a connector" in res.stderr
    assert "[[processors]]" in res.stderr  # brackets survive in the hint
    assert not (root / ".wiseflow" / "wiseflow.db").exists()


def test_broken_manifest_is_reported_not_called_missing(tmp_path: Path) -> None:
    """A pipeline naming a plugin with a broken plugin.toml gets the WF101, not 'missing'."""
    root = project(tmp_path, "trusted", {}, '[pipeline]\nname = "t"\n[[sources]]\nplugin = "bad"\n')
    folder = root / "plugins" / "bad"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "bad"\nversion = "x"\nkind = "connector"\n'
    )
    res = wf("run", "p.toml", cwd=root)
    assert res.returncode == 2
    assert "WF101" in res.stderr and "plugin.version" in res.stderr


def test_unknown_report_format_is_refused_before_running(tmp_path: Path) -> None:
    """--report out.pdf is bad input (exit 2) found before any plugin runs."""
    root = project(tmp_path, "trusted", {"src": ("connector", SOURCE.format(skip=False))},
                   '[pipeline]\nname = "t"\n[[sources]]\nplugin = "src"\n')  # fmt: skip
    res = wf("run", "p.toml", "--report", "out.pdf", cwd=root)
    assert res.returncode == 2 and "out.pdf" in res.stderr
    assert not (root / ".wiseflow" / "wiseflow.db").exists()


def test_structured_plugin_log_lines_land_in_the_log_file(tmp_path: Path) -> None:
    """ctx.log takes fields; the run writes JSON log lines under <data_dir>/logs/."""
    src = """\
    from wiseflow import ConnectorPlugin, Record

    class P(ConnectorPlugin):
        def fetch(self, state):
            self.ctx.log.info("fetched page", page=3, items=1)
            yield Record(id="a", source=self.ctx.name)
    """
    for level in ("trusted", "sandboxed"):
        root = tmp_path / level
        root.mkdir()
        project(root, level, {"src": ("connector", src)},
                '[pipeline]\nname = "t"\n[[sources]]\nplugin = "src"\n')  # fmt: skip
        res = wf("run", "p.toml", "--json", cwd=root)
        assert res.returncode == 0, res.stdout + res.stderr
        lines = (root / ".wiseflow" / "logs" / "wiseflow.log").read_text().splitlines()
        docs = [json.loads(line) for line in lines]
        assert any(d["message"] == "fetched page page=3 items=1" for d in docs), (level, docs)


@pytest.mark.parametrize("failure", ["raise RuntimeError('source broke')", "bad"])
def test_sandboxed_source_failure_keeps_what_it_yielded_before(
    tmp_path: Path, failure: str
) -> None:
    """Records a sandboxed connector yielded before failing (or before an unsendable one) are
    stored, not dropped with the chunk they were waiting in."""
    stop = (
        "yield Record(id='x', source=self.ctx.name, data={'o': object()})"
        if failure == "bad"
        else failure
    )
    src = f"""\
    from wiseflow import ConnectorPlugin, Record

    class P(ConnectorPlugin):
        def fetch(self, state):
            yield Record(id="a", source=self.ctx.name)
            yield Record(id="b", source=self.ctx.name)
            {stop}
    """
    root = project(tmp_path, "sandboxed", {"src": ("connector", src)},
                   '[pipeline]\nname = "t"\n[[sources]]\nplugin = "src"\n')  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["records"]["stored"] == 2
    assert doc["status"] == "failed" and doc["errors"]


def test_sigterm_ends_the_run_cleanly(tmp_path: Path) -> None:
    """SIGTERM mid-run: exit 130, the run recorded as interrupted, stored records kept."""
    import signal
    import time

    src = """\
    import time
    from wiseflow import Checkpoint, ConnectorPlugin, Record

    class P(ConnectorPlugin):
        def fetch(self, state):
            for i in range(1000):
                yield Record(id=str(i), source=self.ctx.name)
                if i % 2:
                    yield Checkpoint(state={"i": i})
                time.sleep(0.01)
    """
    pipe = '[pipeline]\nname = "t"\nbatch_size = 2\n[[sources]]\nplugin = "src"\n'
    root = project(tmp_path, "sandboxed", {"src": ("connector", src)}, pipe)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wiseflow", "run", "p.toml", "--json"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    db = root / ".wiseflow" / "wiseflow.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until records are flowing
        if db.exists():
            try:
                if rows(root, "select count(*) from records")[0][0] > 5:  # type: ignore[operator]
                    break
            except sqlite3.Error:
                pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert rows(root, "select status from runs") == [("interrupted",)]
    stored = rows(root, "select count(*) from records")[0][0]
    assert 5 < stored < 1000  # type: ignore[operator]


ODD_RESULT = """\
from wiseflow import AnalyzerPlugin, Figure

class P(AnalyzerPlugin):
    def analyze(self, batch):
        pass

    def result(self):
        return {"chart": Figure("t", "<svg/>")}  # a Figure belongs in render(), not here

    def render(self, result):
        return []
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_an_analyzer_result_the_run_document_cannot_hold_is_its_failure(
    tmp_path: Path, level: str
) -> None:
    """result() holding what JSON cannot is the analyzer's failure (WF400): the run ends
    as failed, recorded so, its records stored; not a TypeError out of the run that leaves
    the run 'running' in the store."""
    from wiseflow import run_pipeline
    from wiseflow._store import Store

    pipe = PIPE.replace('[[processors]]\nplugin = "proc"', '[[analyzers]]\nplugin = "odd"')
    plugins = {"src": ("connector", SOURCE.format(skip=False)), "odd": ("analyzer", ODD_RESULT)}
    root = project(tmp_path, level, plugins, pipe)
    result = run_pipeline(
        root / "p.toml", config=root / "wiseflow.toml", data_dir=root / "data", report=""
    )
    assert result.status == "failed" and result.stored == 6
    assert [(e["plugin"], e["code"]) for e in result.errors] == [("odd", "WF400")]
    assert "cannot be stored" in result.errors[0]["message"]
    with Store.open(root / "data") as store:
        assert [(r["run_id"], r["status"]) for r in store.runs()] == [(1, "failed")]


HOSTILE_RESULT = """\
from wiseflow import AnalyzerPlugin

Odd = type("\\x1b[2J\\x1b]0;pwned\\x07" + "X" * 200_000, (), {})

class P(AnalyzerPlugin):
    def analyze(self, batch):
        pass

    def result(self):
        return {"odd": Odd()}

    def render(self, result):
        return []
"""


def test_an_unstorable_result_names_the_plugins_type_bounded_and_printed_safely(
    tmp_path: Path,
) -> None:
    """The encoder's complaint quotes the plugin's class name: with a 200,000-character
    name holding terminal escapes, the stored message stays short (msgspec cuts the name;
    the judge bounds whatever an encoder says) and the CLI prints no escape."""
    pipe = PIPE.replace('[[processors]]\nplugin = "proc"', '[[analyzers]]\nplugin = "odd"')
    plugins = {"src": ("connector", SOURCE.format(skip=False)), "odd": ("analyzer", HOSTILE_RESULT)}
    root = project(tmp_path, "trusted", plugins, pipe)
    done = wf("run", "p.toml", cwd=root)
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "cannot be stored" in done.stderr
    (message,) = [
        e["message"]
        for e in json.loads(wf("runs", "show", "1", "--json", cwd=root).stdout)["errors"]
    ]
    assert "cannot be stored" in message and len(message) < 1000
