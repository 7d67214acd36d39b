"""The adapter's lifecycle and refusals for original-API classes (LEGACY-API.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wf_cli import wf
from wiseflow import ConfigError, InterfaceError, PluginError, Record
from wiseflow._contract._errors import ManifestError
from wiseflow._contract._manifest import parse_manifest
from wiseflow.testing import run_plugin

LIFECYCLE = """\
import asyncio
from core.plugins import ConnectorPlugin

CALLS = []


class Lifecycle(ConnectorPlugin):
    name = "life_cycle"

    def validate_config(self):
        CALLS.append("validate_config")
        return self.config.get("valid", True)

    def initialize(self):
        CALLS.append("initialize")
        return True

    async def connect(self):
        await asyncio.sleep(0)
        CALLS.append("connect")
        return True

    def fetch_data(self, query, **kwargs):
        CALLS.append(f"fetch_data({query!r})")
        if query == "string":
            return "not a dict"
        return {"items": [{"id": "a", "title": self.config.get("title", "")}]}

    def disconnect(self):
        CALLS.append("disconnect")
        return True

    def shutdown(self):
        CALLS.append("shutdown")
        return True
"""

NO_METHOD = """\
from core.plugins import ProcessorPlugin


class Lazy(ProcessorPlugin):
    name = "lazy"
"""


def _folder(root: Path, name: str, kind: str, module: str, source: str, cls: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / f"{module}.py").write_text(source)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0"\nkind = "{kind}"\n'
        f'entry = "{module}:{cls}"\nadapter = "legacy"\n'
    )
    return folder


def test_the_legacy_lifecycle_runs_in_the_documented_order(tmp_path: Path) -> None:
    """validate_config, initialize, connect (async here) before fetch_data(config.query);
    disconnect before shutdown; self.config is the stage's config table."""
    folder = _folder(tmp_path, "life-cycle", "connector", "life", LIFECYCLE, "Lifecycle")
    run = run_plugin(folder, {"query": "q", "title": "from config"}, level="trusted")
    assert [(r.id, r.title) for r in run.records] == [("a", "from config")]
    module = next(m for n, m in sys.modules.items() if n.endswith(".life"))
    assert module.CALLS == [
        "validate_config", "initialize", "connect", "fetch_data('q')", "disconnect", "shutdown",
    ]  # fmt: skip


def test_validate_config_false_and_a_bad_fetch_result_are_plain_failures(tmp_path: Path) -> None:
    """validate_config() returning False is WF105; fetch_data() returning neither a dict
    nor a list is WF400 saying what it returned."""
    folder = _folder(tmp_path, "life-cycle", "connector", "life", LIFECYCLE, "Lifecycle")
    with pytest.raises(ConfigError, match=r"validate_config\(\) returned False"):
        run_plugin(folder, {"valid": False}, level="sandboxed")
    with pytest.raises(PluginError, match=r"fetch_data\(\) returned str"):
        run_plugin(folder, {"query": "string"}, level="sandboxed")


def test_a_legacy_class_without_its_kinds_method_fails_check_with_wf103(tmp_path: Path) -> None:
    """`plugins check` (a strict worker) reports a legacy processor without process()."""
    _folder(tmp_path, "lazy", "processor", "lazy", NO_METHOD, "Lazy")
    res = wf("plugins", "check", "lazy", "--json", cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    problems = json.loads(res.stdout)["problems"]
    assert [p["code"] for p in problems] == ["WF103"]
    assert "process() is not implemented" in problems[0]["message"]


def test_a_legacy_class_of_another_kind_is_refused(tmp_path: Path) -> None:
    """A manifest whose kind is not the legacy base's is WF103, naming both."""
    folder = _folder(tmp_path, "mixed", "processor", "life", LIFECYCLE, "Lifecycle")
    with pytest.raises(InterfaceError, match="manifest says kind = 'processor'") as caught:
        run_plugin(folder, level="trusted", records=[Record(id="1", source="s")])
    assert caught.value.code == "WF103"


def test_the_adapter_key_takes_only_known_values() -> None:
    """`adapter` in plugin.toml is optional and, when given, must be "legacy" (WF101)."""
    base = '[plugin]\nname = "x"\nversion = "1"\nkind = "processor"\nentry = "m:C"\n'
    assert parse_manifest(base).adapter is None
    assert parse_manifest(base + 'adapter = "legacy"\n').adapter == "legacy"
    with pytest.raises(ManifestError, match="plugin.adapter"):
        parse_manifest(base + 'adapter = "old"\n')


ENV_READER = """\
import os
from core.plugins import ConnectorPlugin


class EnvReader(ConnectorPlugin):
    name = "env_reader"

    def fetch_data(self, query, **kwargs):
        token = os.environ.get("LEGACY_TOKEN", "")
        return {"data": [{"id": "t", "has_token": token == "s3cret", "length": len(token)}]}
"""


def test_legacy_code_reads_a_granted_variable_from_os_environ_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandboxed worker's environment holds nothing of the host's: the adapter puts the
    variables the manifest declares *and* the operator granted into it, where legacy code
    reads them; declared but not granted, the variable stays unset."""
    monkeypatch.setenv("LEGACY_TOKEN", "s3cret")
    folder = _folder(tmp_path, "env-reader", "connector", "envr", ENV_READER, "EnvReader")
    with (folder / "plugin.toml").open("a") as f:
        f.write('\n[plugin.permissions]\nenv = ["LEGACY_TOKEN"]\n')
    granted = run_plugin(folder, level="sandboxed", grants={"env": ["LEGACY_TOKEN"]})
    assert granted.records[0].data == {"has_token": True, "length": 6}
    denied = run_plugin(folder, level="sandboxed", grants={"env": []})
    assert denied.records[0].data == {"has_token": False, "length": 0}


def test_the_manifest_read_where_code_loads_must_be_the_approved_one(tmp_path: Path) -> None:
    """Where the code is loaded, plugin.toml is read again to pick the adapter; for a
    locked plugin its bytes must match the approved digest (WF303), as modules must."""
    import hashlib

    from wiseflow._contract._errors import IntegrityError
    from wiseflow._contract._legacy import legacy_manifest

    folder = _folder(tmp_path, "life-cycle", "connector", "life", LIFECYCLE, "Lifecycle")
    data = (folder / "plugin.toml").read_bytes()
    approved = {"plugin.toml": hashlib.sha256(data).hexdigest()}
    table = legacy_manifest(str(folder), approved, "life-cycle")
    assert table is not None and table["entry"] == "life:Lifecycle"
    with pytest.raises(IntegrityError, match="plugin.toml is not the file that was approved"):
        legacy_manifest(str(folder), {"plugin.toml": "0" * 64}, "life-cycle")
    (folder / "plugin.toml").write_text(data.decode().replace('adapter = "legacy"\n', ""))
    assert legacy_manifest(str(folder), None, "life-cycle") is None
