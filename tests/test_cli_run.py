"""`wiseflow run` as a user runs it: real processes, real SQLite, sandboxed and trusted."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from wf_cli import wf

PIPELINE = """\
[pipeline]
name = "greetings"
batch_size = 2

[[sources]]
plugin = "hello"
name = "hi"
config = { count = 5, greeting = "hey" }

[[processors]]
plugin = "upper"

[[analyzers]]
plugin = "wordcount"
config = { top = 3 }
"""


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_run_stores_records_and_reruns_without_duplicates(tmp_path: Path, level: str) -> None:
    """A pipeline stores every record once; the re-run resumes and stores nothing twice."""
    (tmp_path / "wiseflow.toml").write_text(f'[policy]\nlevel = "{level}"\n')
    (tmp_path / "p.toml").write_text(PIPELINE)
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["status"] == "ok"
    assert doc["records"]["fetched"] == 5 and doc["records"]["stored"] == 5
    assert doc["analyzers"]["wordcount"]["records"] == 5
    assert doc["plugins"]["hi"]["state"] == "ACTIVE"
    assert set(doc) >= {"run_id", "status", "records", "plugins", "analyzers", "errors", "report"}
    db = sqlite3.connect(tmp_path / ".wiseflow" / "wiseflow.db")
    titles = [r[0] for r in db.execute("select title from records order by id")]
    assert titles == [f"HEY #{i}" for i in range(5)]
    assert (
        db.execute("select state from checkpoints where source='hi'").fetchone()[0] == '{"next":5}'
    )

    again = json.loads(wf("run", "p.toml", "--json", cwd=tmp_path).stdout)
    assert again["records"]["fetched"] == 0  # resumed from the checkpoint
    full = json.loads(wf("run", "p.toml", "--json", "--full-refresh", cwd=tmp_path).stdout)
    assert full["records"]["fetched"] == 5 and full["records"]["duplicates"] == 5
    assert db.execute("select count(*) from records").fetchone()[0] == 5


def test_bad_pipeline_file_is_wf501_before_anything_runs(tmp_path: Path) -> None:
    """An unknown plugin in the pipeline names the line, exits 2, creates no database."""
    (tmp_path / "p.toml").write_text(PIPELINE.replace('plugin = "upper"', 'plugin = "nosuch"'))
    res = wf("run", "p.toml", cwd=tmp_path)
    assert res.returncode == 2
    assert "error WF501" in res.stderr and "nosuch" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / ".wiseflow" / "wiseflow.db").exists()


def test_bad_stage_config_lists_every_field(tmp_path: Path) -> None:
    """Config errors of several stages are reported together as WF105, exit 2."""
    text = PIPELINE.replace("count = 5", 'count = "five"').replace("top = 3", "top = 3, colour = 1")
    (tmp_path / "p.toml").write_text(text)
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert res.returncode == 2
    err = json.loads(res.stdout)["error"]
    assert err["code"] == "WF105"
    messages = [p["message"] for p in err["problems"]]
    assert any("'hi'" in m and "config.count" in m for m in messages)
    assert any("'wordcount'" in m and "config.colour" in m for m in messages)


def test_report_is_written(tmp_path: Path) -> None:
    """--report writes a self-contained HTML page."""
    (tmp_path / "wiseflow.toml").write_text('[policy]\nlevel = "trusted"\n')
    (tmp_path / "p.toml").write_text(PIPELINE)
    res = wf("run", "p.toml", "--report", "out.html", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "out.html").read_text()
    assert "<html" in html.lower() and "greetings" in html
    assert 'src="http' not in html  # nothing fetched from elsewhere


def test_disabled_plugin_refuses_the_run(tmp_path: Path) -> None:
    """A pipeline using a plugin the operator disabled does not start."""
    (tmp_path / "p.toml").write_text(textwrap.dedent(PIPELINE))
    assert wf("plugins", "disable", "upper", cwd=tmp_path).returncode == 0
    res = wf("run", "p.toml", cwd=tmp_path)
    assert res.returncode == 2 and "disabled" in res.stderr


def test_changed_records_are_updated_in_place_on_full_refresh(tmp_path: Path) -> None:
    """A record fetched again with new content replaces the stored one: one row, counted."""
    (tmp_path / "wiseflow.toml").write_text('[policy]\nlevel = "trusted"\n')
    (tmp_path / "p.toml").write_text(PIPELINE)
    assert wf("run", "p.toml", cwd=tmp_path).returncode == 0
    (tmp_path / "p.toml").write_text(PIPELINE.replace('greeting = "hey"', 'greeting = "yo"'))
    doc = json.loads(wf("run", "p.toml", "--json", "--full-refresh", cwd=tmp_path).stdout)
    assert doc["records"]["duplicates"] == 5 and doc["records"]["updated"] == 5
    db = sqlite3.connect(tmp_path / ".wiseflow" / "wiseflow.db")
    assert [r[0] for r in db.execute("select title from records order by id")] == [
        f"YO #{i}" for i in range(5)
    ]
    again = json.loads(wf("run", "p.toml", "--json", "--full-refresh", cwd=tmp_path).stdout)
    assert again["records"]["updated"] == 0  # nothing changed: nothing rewritten


def test_the_progress_table_shows_names_as_written_never_as_markup() -> None:
    """The live table's title and stage column print pipeline and stage names literally:
    rich would otherwise turn ``[link=...]`` or ``[red]`` in a pipeline file into a hidden
    hyperlink or styling on the operator's terminal."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from wiseflow._cli._run import _progress_table

    name = "[link=https://example.invalid]feeds[/link]"
    result = SimpleNamespace(
        pipeline=name, fetched=3, stages={"[red]src[/red]": {"in": 0, "out": 3, "errors": 0}}
    )
    out = io.StringIO()
    Console(file=out, width=200, force_terminal=True).print(_progress_table(result, 1.0))  # type: ignore[arg-type]
    text = out.getvalue()
    assert name in text and "[red]src[/red]" in text
    assert "\x1b]8;" not in text  # no OSC 8 hyperlink was emitted
