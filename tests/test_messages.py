"""What the user reads when something is wrong: true hints, did-you-mean, readable tables."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from wf_cli import wf


def _truncated_db(path: Path) -> None:
    whole = path.with_suffix(".whole")
    conn = sqlite3.connect(whole)
    conn.execute("create table t(x)")
    conn.executemany("insert into t values (?)", [("x" * 1000,)] * 200)
    conn.commit()
    conn.close()
    path.write_bytes(whole.read_bytes()[:20_000])


@pytest.mark.parametrize("damage", ["not-sqlite", "truncated"])
def test_corrupt_database_hint_says_the_file_is_damaged(tmp_path: Path, damage: str) -> None:
    """A wiseflow.db that is not SQLite or is cut short is called damaged (WF502)."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "wiseflow.db"
    if damage == "not-sqlite":
        db.write_text("these are my notes, not a database\n")
    else:
        _truncated_db(db)
    proc = wf("--data-dir", str(data), "runs", "list", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "WF502" in proc.stderr
    assert "not a wiseflow database or is damaged" in proc.stderr
    assert "writable" not in proc.stderr
    proc = wf("--json", "--data-dir", str(data), "runs", "list", cwd=tmp_path)
    err = json.loads(proc.stdout)["error"]
    assert err["code"] == "WF502" and "move it away" in err["hint"]


READ_ONLY = [
    ("plugins", "list"),
    ("plugins", "info", "hello"),
    ("plugins", "info", "hello", "--schema"),
    ("plugins", "test", "hello"),
    ("plugins", "check", "hello"),
    ("plugins", "audit", "hello"),
    ("runs", "list"),
    ("dead-letters", "list"),
    ("doctor",),
]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_create_no_data_dir(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A command that only looks, run from some folder, leaves no `./.wiseflow` there."""
    proc = wf(*command, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_writing_command_still_creates_the_data_dir(tmp_path: Path) -> None:
    """`plugins disable` writes operator state, so it creates the data dir it writes to."""
    proc = wf("plugins", "disable", "hello", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ".wiseflow").is_dir()


def _config_error(config: type, raw: dict[str, object]) -> str:
    from wiseflow import ConfigError
    from wiseflow._contract._config import build_config

    with pytest.raises(ConfigError) as info:
        build_config(config, raw, "p")
    assert info.value.code == "WF105"
    return info.value.message


def test_misspelt_config_field_suggests_the_field_and_lists_the_valid_ones() -> None:
    """`roott = ...` for the files connector says: did you mean 'root'? and names every field."""
    from wiseflow.plugins.files._connector import Config

    message = _config_error(Config, {"roott": "/srv"})
    assert "config.roott: unknown field; did you mean 'root'?" in message
    assert "(known: checkpoint_every, max_bytes, patterns, root)" in message


@pytest.mark.parametrize(
    ("module", "raw", "expected"),
    [
        (
            "wiseflow.plugins.trends._analyzer",
            {"period": "mnth"},
            "config.period: 'mnth' is not valid; did you mean 'month'? "
            "(valid: day, week, month, year)",
        ),
        (
            "wiseflow.plugins.text._processor",
            {"dedup": "nearr"},
            "config.dedup: 'nearr' is not valid; did you mean 'near'? (valid: off, exact, near)",
        ),
    ],
)
def test_misspelt_enum_value_suggests_and_lists_the_valid_ones(
    module: str, raw: dict[str, object], expected: str
) -> None:
    """A value outside a Literal says which one was meant and lists every valid one."""
    import importlib

    assert expected in _config_error(importlib.import_module(module).Config, raw)


def test_misspelt_setting_in_wiseflow_toml_suggests_the_valid_spelling(tmp_path: Path) -> None:
    """`level = "sandboxd"` and `lvel = ...` in wiseflow.toml: did you mean, and the valid ones."""
    (tmp_path / "wiseflow.toml").write_text('[policy]\nlevel = "sandboxd"\n')
    proc = wf("plugins", "list", cwd=tmp_path)
    assert proc.returncode == 2
    assert "policy.level: 'sandboxd' is not valid; did you mean 'sandboxed'?" in proc.stderr
    assert "(valid: trusted, sandboxed, strict)" in proc.stderr
    (tmp_path / "wiseflow.toml").write_text('[plugins.github]\ngrnt.network = ["x:443"]\n')
    proc = wf("--json", "plugins", "list", cwd=tmp_path)
    assert (
        "grnt: unknown field; did you mean 'grant'?" in json.loads(proc.stdout)["error"]["message"]
    )


def test_misspelt_plugin_name_on_the_command_line_suggests_the_plugin(tmp_path: Path) -> None:
    """`plugins info githb` is WF602 with: did you mean 'github'?"""
    proc = wf("plugins", "info", "githb", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no plugin named 'githb' was found; did you mean 'github'" in proc.stderr


def test_misspelt_plugin_name_in_a_pipeline_suggests_the_plugin(tmp_path: Path) -> None:
    """A pipeline naming `helo` is WF501 with: did you mean 'hello'?; a stage key too."""
    (tmp_path / "p.toml").write_text(
        '[pipeline]\nname = "x"\n[[sources]]\nplugin = "helo"\nconfg = {}\n'
    )
    proc = wf("--json", "run", "p.toml", cwd=tmp_path)
    assert proc.returncode == 2
    problems = [p["message"] for p in json.loads(proc.stdout)["error"]["problems"]]
    assert "sources[0].plugin: no plugin named 'helo' is installed; did you mean 'hello'?" in (
        problems
    )
    assert "sources[0].confg: unknown field; did you mean 'config'?" in problems


def _hints(doc: dict[str, object]) -> list[str]:
    err = doc["error"]
    assert isinstance(err, dict)
    hints = [err["hint"], *(p.get("hint") for p in err.get("problems", []))]
    return [h for h in hints if h]


FAILING = {
    "pipeline with two problems": (
        '[pipeline]\nname = "x"\n[[sources]]\nplugin = "helo"\nconfg = {}\n',
        ("run", "p.toml"),
    ),
    "bad pipeline value": ('[pipeline]\nname = "x"\nbatch_size = 0\n', ("run", "p.toml")),
    "bad stage config": (
        '[pipeline]\nname = "x"\n[[sources]]\nplugin = "hello"\nconfig = { count = "x" }\n',
        ("run", "p.toml"),
    ),
    "unknown plugin": ("", ("plugins", "info", "githb")),
    "missing pipeline": ("", ("run", "nowhere.toml")),
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_plain_text_error_carries_every_hint_of_the_json_one(tmp_path: Path, case: str) -> None:
    """Whatever hint `--json` gives (the error's and each problem's), the text shows too."""
    pipeline, args = FAILING[case]
    (tmp_path / "p.toml").write_text(pipeline)
    doc = json.loads(wf("--json", *args, cwd=tmp_path).stdout)
    text = wf(*args, cwd=tmp_path)
    hints = _hints(doc)
    assert hints, doc
    for hint in hints:
        assert f"hint: {hint}" in text.stderr, (hint, text.stderr)
    for problem in doc["error"].get("problems", []):
        if problem.get("line"):
            assert f"{problem['file']}:{problem['line']}" in text.stderr


def test_plugins_list_reads_at_80_columns_and_says_what_is_true(tmp_path: Path) -> None:
    """At 80 columns no line is wider, no name is broken, and the state says available/disabled."""
    assert wf("plugins", "disable", "hello", cwd=tmp_path).returncode == 0
    proc = wf("plugins", "list", cwd=tmp_path, columns=80)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert "debian-changelog" in rows  # whole, on one line
    assert "available" in rows["debian-changelog"] and "disabled" in rows["hello"]
    assert "UNLOADED" not in proc.stdout
    doc = json.loads(wf("--json", "plugins", "list", cwd=tmp_path).stdout)
    hello = next(p for p in doc["plugins"] if p["name"] == "hello")
    assert (hello["state"], hello["status"]) == ("DISABLED", "disabled")  # "state" unchanged


def test_runs_and_dead_letters_read_at_80_columns(tmp_path: Path) -> None:
    """`runs list` and `dead-letters list` fit 80 columns; ids and codes stay whole."""
    from wiseflow import Record
    from wiseflow._store import Store

    with Store.open(tmp_path / "data") as store:
        run = store.begin_run("/home/someone/projects/pipelines/debian-security-weekly.toml")
        store.finish_run(run, "partial", {"records": {"fetched": 12345, "stored": 12000}})
        store.dead_letter(
            run,
            "changelogs",
            Record(id="openssl/3.0.2-1ubuntu1", source="changelogs"),
            plugin="text",
            code="WF400",
            reason="KeyError: 'urgent' -- the processor expected an urgency in every entry",
        )
    for command in (("runs", "list"), ("dead-letters", "list")):
        proc = wf("--data-dir", "data", *command, cwd=tmp_path, columns=80)
        assert proc.returncode == 0, proc.stderr
        assert max(len(line) for line in proc.stdout.splitlines()) <= 80
    assert "openssl/3.0.2-1ubuntu1" in proc.stdout and "WF400" in proc.stdout


def test_only_an_eperm_from_starting_a_program_becomes_wf301() -> None:
    """A worker's EPERM from subprocess is WF301 with the grant; another EPERM stays WF400."""
    from wiseflow import PluginError
    from wiseflow._contract._verdict import exec_refused

    started = PluginError("PermissionError: [Errno 1] Operation not permitted: 'git'")
    started.traceback = 'File "subprocess.py", line 1950, in _execute_child\n'
    refused = exec_refused(started, "history", plugin="git", declared=True, level="sandboxed")
    assert refused is not None and refused.code == "WF301"
    assert refused.plugin == "history" and refused.permission == "subprocess"
    assert refused.hint is not None and "wiseflow plugins grant git --subprocess" in refused.hint
    assert refused.traceback == started.traceback
    other = PluginError("PermissionError: [Errno 1] Operation not permitted: '/sys/x'")
    other.traceback = 'File "plugin.py", line 3, in fetch\n    open("/sys/x", "w")\n'
    assert exec_refused(other, "x", plugin="x", declared=True, level="sandboxed") is None
    access = PluginError("PermissionError: [Errno 13] Permission denied: '/etc/shadow'")
    assert exec_refused(access, "x", plugin="x", declared=True, level="sandboxed") is None


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder a sandboxed worker's own uid may enter (pytest's tmp_path is owner-only)."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="wiseflow-paths-"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def _notes(folder: Path) -> None:
    docs = folder / "docs"
    docs.mkdir(parents=True)
    (docs / "a.md").write_text("# A\nalpha\n")
    (docs / "b.md").write_text("# B\nbeta\n")


def test_relative_path_in_a_pipeline_resolves_against_the_pipeline_file(
    shared_dir: Path,
) -> None:
    """`root = "docs"` in sub/p.toml reads sub/docs, sandboxed, whatever the current folder."""
    project = shared_dir / "sub"
    _notes(project)
    (project / "p.toml").write_text(
        '[pipeline]\nname = "notes"\n[[sources]]\nplugin = "files"\n'
        'config = { root = "docs", patterns = ["*.md"] }\n'
    )
    elsewhere = shared_dir / "elsewhere"
    elsewhere.mkdir()
    proc = wf("--json", "--data-dir", str(shared_dir / "data"), "run", str(project / "p.toml"),
              cwd=elsewhere)  # fmt: skip
    doc = json.loads(proc.stdout)
    assert (doc["status"], doc["records"]["stored"]) == ("ok", 2), doc["errors"]


def test_relative_path_in_wiseflow_toml_resolves_against_wiseflow_toml(
    shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[plugins.files] config.root = "docs"` means docs beside wiseflow.toml, not the cwd."""
    from wiseflow import PluginManager, Record
    from wiseflow._policy._operator import load_operator_config

    _notes(shared_dir)
    toml = shared_dir / "wiseflow.toml"
    toml.write_text('[plugins.files]\nconfig = { root = "docs", patterns = ["*.md"] }\n')
    elsewhere = shared_dir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_operator_config(toml)
    with PluginManager(config, data_dir=shared_dir / "data", cache=False) as pm:
        handle = pm.start("files")
        assert handle.config["root"] == str(shared_dir / "docs")
        titles = sorted(r.title for r in handle.fetch(None) if isinstance(r, Record))
    assert titles == ["A", "B"]
