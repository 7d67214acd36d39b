"""The engine on the plugin manager's real handles, through ``wiseflow.run_pipeline``:
trusted in-process and sandboxed workers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import msgspec
import pytest

from wiseflow import SandboxUnavailable, run_pipeline
from wiseflow._pipeline import Pipeline, load_pipeline
from wiseflow._policy._operator import Level, OperatorConfig, Policy

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "debian-security.toml"
FIXTURES = Path(__file__).parent.parent / "fixtures"


def _fixture(tmp_path: Path) -> tuple[Pipeline, int]:
    spec = importlib.util.spec_from_file_location("mk", FIXTURES / "make_changelogs.py")
    assert spec is not None
    assert spec.loader is not None
    mk: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    expected = mk.write_changelogs(tmp_path / "doc", packages=4, entries=25)
    p = load_pipeline(EXAMPLE)
    src = msgspec.structs.replace(p.sources[0], config={"root": str(tmp_path / "doc")})
    return msgspec.structs.replace(p, sources=(src,)), expected


def _run(tmp_path: Path, p: Pipeline, level: Level, report: Path | str) -> dict[str, Any]:
    config = OperatorConfig(policy=Policy(level=level))
    return run_pipeline(p, config=config, data_dir=tmp_path / "wf", report=report).to_dict()


def test_trusted_handles_run_the_main_job(tmp_path: Path) -> None:
    """PluginManager handles (trusted) drive the pipeline and the report, states reported."""
    p, expected = _fixture(tmp_path)
    doc = _run(tmp_path, p, "trusted", tmp_path / "r.html")
    assert doc["status"] == "ok", doc["errors"]
    assert doc["records"]["stored"] == expected
    assert doc["plugins"]["changelogs"]["state"] == "ACTIVE"
    assert doc["plugins"]["text"]["calls"] >= 1
    assert (tmp_path / "r.html").read_text().count('src="data:image/svg+xml;base64,') >= 4


def test_sandboxed_workers_read_only_the_granted_root(tmp_path: Path) -> None:
    """In sandboxed workers, the {root} grant lets the connector read the fixture and store it."""
    p, expected = _fixture(tmp_path)
    try:
        doc = _run(tmp_path, p, "sandboxed", "")
    except SandboxUnavailable as exc:  # pragma: no cover - depends on the kernel
        pytest.skip(f"sandbox unavailable here: {exc}")
    assert doc["status"] == "ok", doc["errors"]
    assert doc["records"]["stored"] == expected
    assert doc["analyzers"]["trends"]["records"] == expected
