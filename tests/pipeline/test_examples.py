"""The shipped example pipelines parse, and the main job runs end to end on a fixture."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

import wiseflow
from wiseflow._pipeline import load_pipeline
from wiseflow._policy._operator import OperatorConfig, Policy

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_examples_name_installed_plugins() -> None:
    """Every example pipeline is valid and uses only installed plugins."""
    known = {ep.name for ep in metadata.entry_points(group="wiseflow.plugins")}
    files = sorted(EXAMPLES.glob("*.toml"))
    assert {f.name for f in files} >= {"debian-security.toml", "git-activity.toml"}
    for f in files:
        load_pipeline(f, known_plugins=known)


def test_debian_security_runs_and_writes_a_report(tmp_path: Path) -> None:
    """The main job over generated changelogs stores every entry and writes report.html."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mk", FIXTURES / "make_changelogs.py")
    assert spec is not None
    assert spec.loader is not None
    mk: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    expected = mk.write_changelogs(tmp_path / "doc", packages=5, entries=30)
    pipeline = load_pipeline(EXAMPLES / "debian-security.toml")
    source = msgspec.structs.replace(pipeline.sources[0], config={"root": str(tmp_path / "doc")})
    pipeline = msgspec.structs.replace(pipeline, sources=(source,))
    report = tmp_path / "report.html"
    config = OperatorConfig(policy=Policy(level="trusted"))  # in the host, as a test would run it
    result = wiseflow.run_pipeline(
        pipeline, config=config, data_dir=tmp_path / "data", report=report
    )
    summary = result.to_dict()
    assert summary["status"] == "ok", summary["errors"]
    assert summary["records"]["stored"] == expected
    assert summary["report"] == str(report)
    html = report.read_text()
    assert html.count('<img alt="') >= 4  # charts, as data-URI images
    assert "<svg" not in html
    assert "Most mentioned CVEs" in html
    assert set(summary["analyzers"]) == {"entities", "trends"}
