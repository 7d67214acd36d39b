"""The newcomer's path, end to end, through the real CLI and real tools (issue 12, Acceptance).

From an empty folder: scaffold one plugin of each kind, ``pip install -e`` them into a
throwaway virtualenv, see them listed as entry points, run their generated tests and the
conformance suite, break the processor, run a pipeline of the three at the default level
(sandboxed), find the failing file and line in ``runs show``, fix it, replay the dead letters
and count every record stored exactly once. Every command is a subprocess, as a user types it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

KINDS = ("connector", "processor", "analyzer")
#: Generous: the sandbox starts real workers, and other test runs share this machine.
TIMEOUT = 300

PIPELINE = """\
[pipeline]
name = "newcomer"
batch_size = 2

[[sources]]
plugin = "nc-connector"
config = { count = 6 }

[[processors]]
plugin = "nc-processor"

[[analyzers]]
plugin = "nc-analyzer"
"""

#: The generated processor's body, and the newcomer's bug: a counter kept in a plain dict
#: that knows only the even items, so every odd item raises KeyError in the worker.
GOOD = """\
        config: NcProcessor.Config = self.ctx.config
        return [
"""
BAD = """\
        config: NcProcessor.Config = self.ctx.config
        seen = {"item 0": 0, "item 2": 0, "item 4": 0}
        for r in batch:
            seen[r.title] += 1
        return [
"""
BUG_LINE = "            seen[r.title] += 1"


def sh(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command as typed in a shell in ``cwd``; never raises on a non-zero exit."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def ok(res: subprocess.CompletedProcess[str], step: str, code: int = 0) -> str:
    """The command's stdout, after checking its exit code (the failure names the step)."""
    assert res.returncode == code, (
        f"{step}: exit {res.returncode}, expected {code}\n"
        f"$ {' '.join(res.args)}\n{res.stdout}\n{res.stderr}"
    )
    return res.stdout


def make_venv(where: Path) -> Path:
    """A throwaway virtualenv that sees this environment's packages; its python.

    ``venv --system-site-packages`` would expose the *base* interpreter's packages, not those
    of the virtualenv running the tests (where wiseflow and its dependencies are), so a
    ``.pth`` file adds the latter. Installing wiseflow from the checkout instead would need
    its dependencies from the package index: slower, and no more real.
    """
    res = sh(sys.executable, "-m", "venv", "--without-pip", where, cwd=where.parent)
    ok(res, "python -m venv")
    python = where / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(ok(sh(python, "-c", code, cwd=where.parent), "venv purelib").strip())
    here = sysconfig.get_paths()["purelib"]
    (purelib / "_wiseflow_parent.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    return python


def query(db: Path, sql: str) -> list[tuple[str, ...]]:
    """Rows of ``sql`` over the store, read with the ``sqlite3`` shell as a user would."""
    if shutil.which("sqlite3"):
        out = ok(sh("sqlite3", "-readonly", "-separator", "\t", db, sql, cwd=db.parent), sql)
        return [tuple(line.split("\t")) for line in out.splitlines()]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:  # no shell: same query
        return [tuple(str(v) for v in row) for row in conn.execute(sql)]


def test_a_newcomer_scaffolds_tests_breaks_debugs_fixes_and_replays(tmp_path: Path) -> None:
    """Scaffold, install, test, break, find file:line, fix, replay: every record stored once."""
    home = tmp_path / "newcomer"
    home.mkdir()
    (home / "wiseflow.toml").write_text('[wiseflow]\ndata_dir = ".wiseflow"\n')
    python = make_venv(tmp_path / "venv")

    def wf(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return sh(python, "-m", "wiseflow", *args, cwd=home)

    # 1. one plugin of each kind, side by side in one folder
    for kind in KINDS:
        ok(wf("plugins", "new", f"nc-{kind}", "--kind", kind, "--dir", "plugins"), "plugins new")
    projects = [home / "plugins" / f"nc-{kind}" for kind in KINDS]
    assert all((p / "pyproject.toml").is_file() for p in projects)

    # 2. pip install -e each into the venv: listed as entry points, sandboxed, no problems
    editable = [arg for p in projects for arg in ("-e", str(p))]
    ok(sh(python, "-m", "pip", "install", "--quiet", *editable, cwd=home), "pip install -e")
    listed = json.loads(ok(wf("plugins", "list", "--json"), "plugins list"))["plugins"]
    rows = {p["name"]: p for p in listed}
    for kind in KINDS:
        row = rows[f"nc-{kind}"]
        assert (row["kind"], row["origin"]) == (kind, "entry-point"), row
        assert row["location"] == f"wiseflow-nc-{kind}==0.1.0", row
        assert (row["level"], row["problems"]) == ("sandboxed", []), row

    # 3. the generated tests, all three projects collected together, warnings as errors
    res = sh(python, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider", ".", cwd=home)
    out = ok(res, "pytest over the folder")
    assert "9 passed" in out, out  # three projects x (two levels + conformance), no clash

    # 4. the conformance suite on each, at its default level (sandboxed)
    for project in projects:
        report = json.loads(ok(wf("plugins", "test", project, "--json"), f"plugins test {project}"))
        assert report["ok"] is True and all(c["ok"] for c in report["checks"]), report

    # 5. break the processor: odd items raise KeyError; the run is partial, with dead letters
    source = home / "plugins/nc-processor/src/wiseflow_nc_processor/processor.py"
    generated = source.read_text()
    assert generated.count(GOOD) == 1, generated
    source.write_text(generated.replace(GOOD, BAD))
    bug_line = source.read_text().splitlines().index(BUG_LINE) + 1
    (home / "pipeline.toml").write_text(PIPELINE)
    run = json.loads(ok(wf("run", "pipeline.toml", "--json"), "run (broken)", code=1))
    assert run["status"] == "partial", run
    assert run["records"]["fetched"] == 6, run
    assert (run["records"]["stored"], run["records"]["dead_letters"]) == (3, 3), run
    assert run["plugins"]["nc-processor"]["error_codes"] == ["WF400"], run

    # 6. runs show: the file and line of the failure, and the traceback in --json
    where = f"at {source.resolve()}:{bug_line} in process"
    shown = ok(wf("runs", "show", str(run["run_id"])), "runs show")
    assert shown.count(where) == 3 and "KeyError: 'item 1'" in shown, shown
    doc = json.loads(ok(wf("runs", "show", str(run["run_id"]), "--json"), "runs show --json"))
    letters = doc["dead_letter_sample"]
    assert sorted(d["record_id"] for d in letters) == ["1", "3", "5"], letters
    frame = f'File "{source.resolve()}", line {bug_line}, in process'
    for letter in letters:
        assert (letter["plugin"], letter["code"]) == ("nc-processor", "WF400"), letter
        assert frame in letter["traceback"] and "KeyError" in letter["traceback"], letter

    # 7. fix it, replay the dead letters: every record stored exactly once, none left over
    source.write_text(generated)
    res = wf("dead-letters", "replay", "pipeline.toml", "--json")
    replay = json.loads(ok(res, "dead-letters replay"))
    assert (replay["replay"], replay["status"]) == (True, "ok"), replay
    assert (replay["records"]["stored"], replay["records"]["dead_letters"]) == (3, 0), replay
    remaining = json.loads(ok(wf("dead-letters", "list", "--json"), "dead-letters list"))
    assert remaining["dead_letters"] == [], remaining

    db = home / ".wiseflow" / "wiseflow.db"
    assert os.path.isfile(db), sorted(os.listdir(home))
    stored = query(db, "select source, id, count(*) from records group by source, id order by id")
    assert stored == [("nc-connector", str(i), "1") for i in range(6)], stored
    assert query(db, "select count(*) from records") == [("6",)]
    # each record went through the fixed processor: it carries the processor's annotation
    notes = query(db, "select json_extract(annotations, '$.\"nc-processor\".short') from records")
    assert len(notes) == 6 and all(n in {("0",), ("1",)} for n in notes), notes
    assert query(db, "select count(*) from dead_letters") == [("0",)]
    statuses = query(db, "select run_id, status from runs order by run_id")
    assert statuses == [(str(run["run_id"]), "partial"), (str(replay["run_id"]), "ok")], statuses
