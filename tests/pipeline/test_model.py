"""Pipeline files: parsed into structs; every problem named with its field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from wiseflow import PipelineError
from wiseflow._pipeline import load_pipeline, parse_pipeline

GOOD = """\
[pipeline]
name = "debian-security"
batch_size = 200

[[sources]]
plugin = "debian-changelog"
name = "changelogs"
config = { root = "/usr/share/doc" }

[[processors]]
plugin = "text"

[[analyzers]]
plugin = "entities"
[[analyzers]]
plugin = "trends"
config = { period = "month" }

[output]
report = "report.html"
"""


def test_spec_example_parses(tmp_path: Path) -> None:
    """The SPEC §5 example becomes a Pipeline with instance names and configs."""
    f = tmp_path / "p.toml"
    f.write_text(GOOD)
    p = load_pipeline(f, known_plugins={"debian-changelog", "text", "entities", "trends"})
    assert p.name == "debian-security"
    assert p.batch_size == 200
    assert [s.name for s in p.stages] == ["changelogs", "text", "entities", "trends"]
    assert p.sources[0].config == {"root": "/usr/share/doc"}
    assert p.analyzers[1].kind == "analyzer"
    assert p.output.report == "report.html"
    assert p.path == str(f)


def test_bad_toml_names_the_line() -> None:
    """Broken TOML is WF501 with the line of the error."""
    with pytest.raises(PipelineError) as info:
        parse_pipeline('[pipeline]\nname = "x"\nbatch_size = = 3\n')
    assert info.value.code == "WF501"
    assert info.value.problems[0].line == 3


def test_every_problem_is_reported_at_once() -> None:
    """Unknown keys, missing plugin names, unknown plugins and bad values all come together."""
    text = """\
[pipeline]
name = "p"
batch_size = 0
colour = "red"

[[sources]]
name = "nameless"

[[processors]]
plugin = "nope"
confg = { a = 1 }

[output]
report = "r.pdf"
"""
    with pytest.raises(PipelineError) as info:
        parse_pipeline(text, known_plugins={"text"})
    by_msg = {p.message.split(":")[0]: p for p in info.value.problems}
    assert by_msg["pipeline.batch_size"].line == 3
    assert by_msg["pipeline.colour"].line == 4
    assert by_msg["sources[0].plugin"].line == 6
    assert by_msg["processors[0].plugin"].line == 10
    assert by_msg["processors[0].confg"].line == 11
    assert by_msg["output.report"].line == 14
    assert "nope" in str(info.value)


def test_duplicate_instance_names_are_refused() -> None:
    """Two stages with the same instance name would share checkpoints: refused."""
    text = '[pipeline]\nname = "p"\n[[sources]]\nplugin = "a"\n[[sources]]\nplugin = "a"\n'
    with pytest.raises(PipelineError) as info:
        parse_pipeline(text)
    assert "used twice" in str(info.value)


def test_missing_file_is_a_pipeline_error(tmp_path: Path) -> None:
    """A pipeline path that does not exist is WF501 naming the file."""
    with pytest.raises(PipelineError) as info:
        load_pipeline(tmp_path / "none.toml")
    assert "none.toml" in info.value.message
