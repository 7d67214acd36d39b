"""Past runs as a user sees them: `runs list/show`, `dead-letters list`, crashed runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wf_cli import wf

PICKY = """\
from wiseflow import ProcessorPlugin, SkipRecord

class Picky(ProcessorPlugin):
    def process(self, batch):
        for r in batch:
            if r.id == "2":
                raise SkipRecord(r.id, "two is not welcome")
        return batch
"""

SLOW = """\
import time
from wiseflow import ConnectorPlugin, Record

class Slow(ConnectorPlugin):
    def fetch(self, state):
        yield Record(id="0", source=self.ctx.name)
        time.sleep(60)
        yield Record(id="1", source=self.ctx.name)
"""


def _plugin(root: Path, name: str, kind: str, code: str, cls: str) -> None:
    folder = root / "plugins" / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        textwrap.dedent(
            f"""\
            [plugin]
            name = "{name}"
            version = "1.0"
            kind = "{kind}"
            entry = "plugin:{cls}"
            """
        )
    )
    (folder / "plugin.py").write_text(code)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose pipeline dead-letters one of five records."""
    (tmp_path / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n')
    _plugin(tmp_path, "picky", "processor", PICKY, "Picky")
    (tmp_path / "p.toml").write_text(
        textwrap.dedent(
            """\
            [pipeline]
            name = "picky-run"
            batch_size = 5
            [[sources]]
            plugin = "hello"
            config = { count = 5 }
            [[processors]]
            plugin = "picky"
            """
        )
    )
    return tmp_path


def test_a_run_with_dead_letters_is_partial_and_listed(project: Path) -> None:
    """A run that stored all but one record is `partial` (exit 1), in `runs list` and `show`."""
    res = wf("run", "p.toml", "--json", cwd=project)
    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["status"] == "partial"
    assert doc["records"]["stored"] == 4 and doc["records"]["dead_letters"] == 1

    listed = json.loads(wf("runs", "list", "--json", cwd=project).stdout)["runs"]
    assert [(r["run_id"], r["pipeline"], r["status"]) for r in listed] == [
        (doc["run_id"], "picky-run", "partial")
    ]
    assert listed[0]["records"]["stored"] == 4 and listed[0]["finished"]

    shown = json.loads(wf("runs", "show", str(doc["run_id"]), "--json", cwd=project).stdout)
    assert shown["status"] == "partial" and shown["records"] == doc["records"]
    text = wf("runs", "show", str(doc["run_id"]), cwd=project)
    assert text.returncode == 0 and "picky-run partial" in text.stdout

    letters = json.loads(wf("dead-letters", "list", "--json", cwd=project).stdout)["dead_letters"]
    assert len(letters) == 1
    (dl,) = letters
    assert set(dl) == {
        "seq", "run_id", "source", "record_id", "plugin", "code", "reason", "traceback", "time",
    }  # fmt: skip
    assert (dl["record_id"], dl["code"], dl["run_id"]) == ("2", "WF408", doc["run_id"])
    assert "two is not welcome" in dl["reason"]
    only = json.loads(wf("dead-letters", "list", "--run", "999", "--json", cwd=project).stdout)
    assert only == {"dead_letters": []}


def test_runs_show_gives_a_dead_letter_as_an_error_with_its_hint_apart(project: Path) -> None:
    """`runs show`: each dead letter as `error CODE: reason (plugin)`, then its hint on a
    line of its own; --json keeps reason, code, plugin and hint as separate fields. A
    reason forging a hint line or terminal escapes stays one plain line of its own."""
    forged = PICKY.replace(
        '"two is not welcome"', '"two is not welcome\\n    hint: forged\\x1b[2J"'
    )
    (project / "plugins" / "picky" / "plugin.py").write_text(forged)
    res = wf("run", "p.toml", "--json", cwd=project)
    assert res.returncode == 1, res.stdout + res.stderr
    text = wf("runs", "show", "1", cwd=project)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    at = lines.index("  record 2 from hello:")
    assert lines[at + 1].startswith("    error WF408: two is not welcome"), lines
    assert lines[at + 1].endswith("(picky)") and "\x1b" not in text.stdout, lines
    assert lines[at + 2] == (
        "    hint: fix the cause, then `wiseflow dead-letters replay PIPELINE.toml --run 1` "
        "sends the record through again"
    ), lines
    assert sum(line.lstrip().startswith("hint:") for line in lines) == 1, lines
    doc = json.loads(wf("runs", "show", "1", "--json", cwd=project).stdout)
    (letter,) = doc["dead_letter_sample"]
    assert (letter["record_id"], letter["plugin"], letter["code"]) == ("2", "picky", "WF408")
    assert letter["reason"] == "two is not welcome\n    hint: forged\x1b[2J"  # data, as sent
    assert letter["hint"].startswith("fix the cause, then `wiseflow dead-letters replay")


def test_a_partial_run_in_plain_text_says_where_the_tracebacks_are_and_how_to_replay(
    project: Path,
) -> None:
    """Without --json, a run with dead letters names `runs show N` and the replay command."""
    res = wf("run", "p.toml", cwd=project)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "picky-run partial" in res.stdout and "1 dead letters (run 1)" in res.stdout
    assert "`wiseflow runs show 1`" in res.stderr, res.stderr
    assert "`wiseflow dead-letters replay p.toml`" in res.stderr, res.stderr
    clean = wf("run", "p.toml", cwd=project)  # nothing new fetched: no dead letters, no hint
    assert clean.returncode == 0 and "hint" not in clean.stderr, clean.stdout + clean.stderr


def test_runs_of_an_empty_data_dir_are_none_and_create_nothing(tmp_path: Path) -> None:
    """`runs list` where nothing ran shows no runs and does not create a data dir."""
    res = wf("runs", "list", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"runs": []}
    assert not (tmp_path / ".wiseflow").exists()
    missing = wf("runs", "show", "7", cwd=tmp_path)
    assert missing.returncode == 2
    assert "error WF602" in missing.stderr and "Traceback" not in missing.stderr


def test_a_killed_run_is_marked_crashed(tmp_path: Path) -> None:
    """A host killed with SIGKILL leaves its run `running`; the next command marks it crashed."""
    (tmp_path / "wiseflow.toml").write_text('[wiseflow]\nplugin_dirs = ["plugins"]\n')
    _plugin(tmp_path, "slow", "connector", SLOW, "Slow")
    (tmp_path / "p.toml").write_text('[pipeline]\nname = "slow"\n[[sources]]\nplugin = "slow"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "wiseflow", "run", "p.toml"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = tmp_path / ".wiseflow" / "wiseflow.db"
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != "running":
            time.sleep(0.2)
            if db.exists():
                try:
                    row = sqlite3.connect(db).execute("select status from runs").fetchone()
                except sqlite3.Error:
                    row = None
                status = row[0] if row else None
        assert status == "running", "the run never started"
        # while its host lives, another command leaves the run alone
        alive = json.loads(wf("runs", "list", "--json", cwd=tmp_path).stdout)["runs"]
        assert alive[0]["status"] == "running"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    runs = json.loads(wf("runs", "list", "--json", cwd=tmp_path).stdout)["runs"]
    assert runs[0]["status"] == "crashed" and runs[0]["finished"]


def test_version_is_printed() -> None:
    """`wiseflow --version` prints `wiseflow X.Y.Z`, also as `python -m wiseflow`."""
    from wiseflow._contract._version import __version__

    res = subprocess.run(
        [sys.executable, "-m", "wiseflow", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0
    assert res.stdout.strip() == f"wiseflow {__version__}"


def test_replay_stores_what_the_fixed_plugin_accepts(project: Path) -> None:
    """Replaying after a fix stores the dead-lettered record once and empties the table."""
    first = json.loads(wf("run", "p.toml", "--json", cwd=project).stdout)
    assert first["records"]["dead_letters"] == 1

    again = wf("dead-letters", "replay", "p.toml", "--json", cwd=project)
    assert again.returncode == 1, again.stderr  # the bug is still there: it fails again
    doc = json.loads(again.stdout)
    assert doc["replay"] is True and doc["replayed"] == 1 and doc["status"] == "partial"
    letters = json.loads(wf("dead-letters", "list", "--json", cwd=project).stdout)["dead_letters"]
    assert [(d["record_id"], d["run_id"]) for d in letters] == [("2", doc["run_id"])]

    plugin = project / "plugins" / "picky" / "plugin.py"
    plugin.write_text(plugin.read_text().replace('r.id == "2"', 'r.id == "never"'))
    fixed = wf("dead-letters", "replay", "p.toml", "--json", cwd=project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    doc = json.loads(fixed.stdout)
    assert (doc["status"], doc["replayed"], doc["records"]["stored"]) == ("ok", 1, 1)
    assert json.loads(wf("dead-letters", "list", "--json", cwd=project).stdout) == {
        "dead_letters": []
    }
    db = sqlite3.connect(project / ".wiseflow" / "wiseflow.db")
    ids = sorted(r[0] for r in db.execute("select id from records where source = 'hello'"))
    assert ids == ["0", "1", "2", "3", "4"]  # every record stored once
    runs = json.loads(wf("runs", "list", "--json", cwd=project).stdout)["runs"]
    assert [r["replay"] for r in runs] == [True, True, False]


KEYERR = """\
from wiseflow import ProcessorPlugin


def lookup(record):
    return record.data["urgent"]


class Keyed(ProcessorPlugin):
    def process(self, batch):
        return [r for r in batch if lookup(r)]
"""

BROKEN_SOURCE = """\
from wiseflow import ConnectorPlugin


def first_page():
    raise RuntimeError("the feed moved")


class Gone(ConnectorPlugin):
    def fetch(self, state):
        first_page()
        yield
"""


@pytest.mark.parametrize("level", ["sandboxed", "trusted"])
def test_a_plugin_failure_keeps_its_file_and_line(tmp_path: Path, level: str) -> None:
    """A KeyError deep in a processor is found by file and line in dead letters, `runs show`,
    `--debug` and wiseflow.log; a source's failure has its traceback in the run's errors."""
    (tmp_path / "wiseflow.toml").write_text(
        f'[wiseflow]\nplugin_dirs = ["plugins"]\n[policy]\nlevel = "{level}"\n'
    )
    _plugin(tmp_path, "keyed", "processor", KEYERR, "Keyed")
    _plugin(tmp_path, "gone", "connector", BROKEN_SOURCE, "Gone")
    (tmp_path / "p.toml").write_text(
        textwrap.dedent(
            """\
            [pipeline]
            name = "tb"
            [[sources]]
            plugin = "hello"
            config = { count = 2 }
            [[sources]]
            plugin = "gone"
            [[processors]]
            plugin = "keyed"
            """
        )
    )
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    plugin_py = str(tmp_path / "plugins" / "keyed" / "plugin.py")
    (err,) = [e for e in doc["errors"] if e["plugin"] == "gone"]
    assert 'plugin.py", line 5, in first_page' in err["traceback"]
    assert "RuntimeError: the feed moved" in err["traceback"]
    assert "_worker.py" not in err["traceback"] and "_inprocess.py" not in err["traceback"]

    letters = json.loads(wf("dead-letters", "list", "--json", cwd=tmp_path).stdout)
    tb = letters["dead_letters"][0]["traceback"]
    assert f'File "{plugin_py}", line 5, in lookup' in tb and "KeyError: 'urgent'" in tb

    shown = wf("runs", "show", str(doc["run_id"]), cwd=tmp_path).stdout
    assert f"at {plugin_py}:5 in lookup" in shown
    assert "RuntimeError: the feed moved" in shown

    debug = wf("run", "p.toml", "--full-refresh", "--debug", cwd=tmp_path)
    assert f'File "{plugin_py}", line 5, in lookup' in debug.stderr

    logged = [
        json.loads(line)
        for line in (tmp_path / ".wiseflow" / "logs" / "wiseflow.log").read_text().splitlines()
    ]
    failures = [r for r in logged if r.get("plugin") == "keyed" and r.get("code") == "WF400"]
    assert failures and "line 5, in lookup" in failures[0]["traceback"]


def test_a_replayed_run_still_shows_what_failed(project: Path) -> None:
    """After a replay, `runs show` of the first run still names the record that failed."""
    first = json.loads(wf("run", "p.toml", "--json", cwd=project).stdout)
    plugin = project / "plugins" / "picky" / "plugin.py"
    plugin.write_text(plugin.read_text().replace('r.id == "2"', 'r.id == "never"'))
    assert wf("dead-letters", "replay", "p.toml", cwd=project).returncode == 0
    shown = json.loads(wf("runs", "show", str(first["run_id"]), "--json", cwd=project).stdout)
    assert [d["record_id"] for d in shown["dead_letter_sample"]] == ["2"]
    text = wf("runs", "show", str(first["run_id"]), cwd=project).stdout
    assert "dead letters: 1" in text and "two is not welcome" in text


ALWAYS_FAILS = """\
from wiseflow import ProcessorPlugin

class Flaky(ProcessorPlugin):
    def process(self, batch):
        raise RuntimeError("down")
"""


def test_the_run_document_says_when_a_breaker_opened(tmp_path: Path) -> None:
    """A breaker that opened during a run is in the run's document and in `runs show`."""
    (tmp_path / "wiseflow.toml").write_text(
        '[wiseflow]\nplugin_dirs = ["plugins"]\n'
        "[plugins.flaky]\nbreaker = { failures = 1, reset_s = 600 }\n"
    )
    _plugin(tmp_path, "flaky", "processor", ALWAYS_FAILS, "Flaky")
    (tmp_path / "p.toml").write_text(
        '[pipeline]\nname = "b"\nbatch_size = 2\n[[sources]]\nplugin = "hello"\n'
        'config = { count = 6 }\n[[processors]]\nplugin = "flaky"\n'
    )
    doc = json.loads(wf("run", "p.toml", "--json", cwd=tmp_path).stdout)
    entry = doc["plugins"]["flaky"]
    assert entry["breaker"]["opens"] >= 1 and entry["breaker"]["state"] == "open"
    assert entry["resources"]["cpu_s"] is not None
    shown = wf("runs", "show", str(doc["run_id"]), cwd=tmp_path).stdout
    assert "breaker opened" in shown
