"""plugin.toml: parsed without importing code, every invalid field reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from wiseflow import ManifestError, load_manifest
from wiseflow._contract._manifest import parse_manifest

GOOD = """
[plugin]
name = "github"
version = "1.2.0"
kind = "connector"
entry = "wiseflow_github.connector:GitHubConnector"
api = ">=1,<2"
python = ">=3.11"
description = "Issues from GitHub"
fallback = "github-archive"

[plugin.requires]
text = ">=1.0,<2"
spellcheck = { version = ">=0.3", optional = true }

[plugin.permissions]
network = ["api.github.com:443"]
env = ["GITHUB_TOKEN"]
fs_read = ["{root}"]

[plugin.resources]
memory_mb = 256
cpu_seconds = 120
timeout_s = 60
max_open_files = 64
"""


def test_spec_example_manifest_parses() -> None:
    """The manifest of SPEC §3 is accepted with every field kept."""
    m = parse_manifest(GOOD)
    assert (m.name, m.version, m.kind, m.fallback) == (
        "github",
        "1.2.0",
        "connector",
        "github-archive",
    )
    assert [(r.name, r.version, r.optional) for r in m.requires] == [
        ("text", ">=1.0,<2", False),
        ("spellcheck", ">=0.3", True),
    ]
    assert m.permissions.network == ("api.github.com:443",)
    assert m.permissions.fs_read == ("{root}",)
    assert (m.resources.memory_mb, m.resources.timeout_s) == (256, 60.0)


def test_every_invalid_field_is_reported_with_path_and_line() -> None:
    """Six broken fields give six problems, each naming its field and line."""
    text = """[plugin]
name = "Bad_Name"
version = "one"
kind = "gadget"
entry = "no colon here"
api = "~~1"

[plugin.resources]
memory_mb = -5
"""
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, path="x/plugin.toml")
    probs = info.value.problems
    fields = [p.message.split(":")[0] for p in probs]
    assert fields == [
        "plugin.name", "plugin.version", "plugin.kind", "plugin.entry", "plugin.api",
        "plugin.resources.memory_mb",
    ]  # fmt: skip
    assert [p.line for p in probs] == [2, 3, 4, 5, 6, 9]
    assert all(p.code == "WF101" and p.file == "x/plugin.toml" for p in probs)
    assert info.value.code == "WF101"


def test_missing_required_fields_and_unknown_keys() -> None:
    """Missing name/version/kind/entry and unknown keys are all listed."""
    with pytest.raises(ManifestError) as info:
        parse_manifest('[plugin]\ncolour = "red"\n[other]\n')
    messages = " | ".join(p.message for p in info.value.problems)
    needles = [f"plugin.{f}: required" for f in ("name", "version", "kind", "entry")]
    needles += ["plugin.colour: unknown", "other: unknown"]
    for needle in needles:
        assert needle in messages


def test_bad_toml_reports_the_line() -> None:
    """A TOML syntax error is WF101 with the line it happened on."""
    with pytest.raises(ManifestError) as info:
        parse_manifest('[plugin]\nname = "a"\nversion = \n')
    assert info.value.problems[0].line == 3


def test_bad_requirements_and_permissions() -> None:
    """Self-requirement, bad ranges and malformed permission entries are caught."""
    text = """[plugin]
name = "a"
version = "1"
kind = "processor"
entry = "m:C"
[plugin.requires]
a = ">=1"
b = "not a range"
c = { version = ">=1", optional = "yes" }
[plugin.permissions]
network = ["host with space", 5]
subprocess = "no"
teleport = true
"""
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    messages = " | ".join(p.message for p in info.value.problems)
    assert "cannot require itself" in messages
    assert "'not a range'" in messages
    assert "plugin.requires.c.optional" in messages
    assert "plugin.permissions.network" in messages
    assert "plugin.permissions.subprocess" in messages
    assert "plugin.permissions.teleport" in messages


def test_load_manifest_from_folder_and_missing(tmp_path: Path) -> None:
    """A folder is read through its plugin.toml; a folder without one is WF101."""
    (tmp_path / "plugin.toml").write_text(GOOD)
    assert load_manifest(tmp_path).path == str(tmp_path / "plugin.toml")
    with pytest.raises(ManifestError, match="no plugin.toml"):
        load_manifest(tmp_path / "nowhere")


def test_hostile_toml_is_an_error_not_a_crash(tmp_path: Path) -> None:
    """Nesting too deep to parse, or a huge file, is WF101 like any other bad manifest."""
    deep = '[plugin]\nname = "x"\ndescription = ' + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(ManifestError, match="nested too deeply"):
        parse_manifest(deep)
    with pytest.raises(ManifestError, match="larger than"):
        parse_manifest("# " + "x" * (2 << 20))


def test_names_with_a_trailing_newline_are_refused() -> None:
    """`$` would accept "probe\\n"; names, entries and placeholders must match exactly."""
    text = '[plugin]\nname = "probe\\n"\nversion = "1"\nkind = "processor"\nentry = "m:C\\n"\n'
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    fields = {p.message.split(":")[0] for p in info.value.problems}
    assert fields == {"plugin.name", "plugin.entry"}
