"""Static audit (WF302): findings with rule, severity and place; the operator's threshold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wiseflow import AuditRefused
from wiseflow._policy._audit import audit_source, blocking
from wiseflow._policy._operator import OperatorConfig, Policy
from wiseflow.testing import make_manager


def rules(source: str) -> set[tuple[str, str]]:
    return {(r, s) for r, s, _, _ in audit_source(textwrap.dedent(source), "x.py")}


def test_escape_tricks_are_flagged() -> None:
    """Raw sockets, ctypes, exec, __subclasses__ walks and getattr('__import__') are found."""
    found = rules(
        """\
        import socket, ctypes
        from os import system
        exec("1")
        [c for c in ().__class__.__base__.__subclasses__()]
        getattr(__builtins__, "__import__")("os")
        system("sh")
        """
    )
    assert ("raw-network", "high") in found
    assert ("native-code", "critical") in found
    assert ("dynamic-code", "high") in found
    assert ("introspection", "high") in found
    assert ("dynamic-import", "high") in found
    assert ("subprocess", "high") in found


def test_clean_plugin_has_no_findings() -> None:
    """An ordinary processor has nothing to report."""
    assert rules("from wiseflow import ProcessorPlugin\nimport re, json\n") == set()


def test_unparsable_source_is_a_finding() -> None:
    """Source that does not parse cannot be audited: refused at the default threshold."""
    assert rules("def (:\n") == {("unparsable", "high")}


def write(root: Path, name: str, code: str, perms: str = "") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1"\nkind = "processor"\nentry = "plugin:P"\n'
        + perms
    )
    (folder / "plugin.py").write_text(
        textwrap.dedent(code)
        + "\nfrom wiseflow import ProcessorPlugin\n"
        + "class P(ProcessorPlugin):\n    def process(self, batch):\n        return batch\n"
    )
    return folder


def test_manager_refuses_before_importing(tmp_path: Path) -> None:
    """A plugin importing socket is refused with WF302 and its code never runs."""
    write(tmp_path / "p", "net", "import socket\nraise SystemExit('imported!')\n")
    pm = make_manager(plugin_dirs=[tmp_path / "p"], level="trusted", data_dir=tmp_path / "d")
    with pytest.raises(AuditRefused) as info:
        pm.load("net")
    assert info.value.code == "WF302"
    assert info.value.problems[0].rule == "raw-network"
    assert "net" not in pm


def test_thresholds_none_and_strict(tmp_path: Path) -> None:
    """audit_block = "none" admits everything; strict refuses from medium."""
    write(tmp_path / "p", "envy", "import os\nX = os.environ.get('HOME')\n")
    lax = OperatorConfig(policy=Policy(audit_block="none", level="trusted"))
    pm = make_manager(plugin_dirs=[tmp_path / "p"], config=lax, data_dir=tmp_path / "d")
    assert pm.start("envy").state.value == "ACTIVE"
    pm.close()
    strict = OperatorConfig(policy=Policy(level="strict"))
    pm = make_manager(plugin_dirs=[tmp_path / "p"], config=strict, data_dir=tmp_path / "d2")
    assert pm.audit_threshold("envy") == "medium"
    with pytest.raises(AuditRefused):
        pm.load("envy")


def test_declared_subprocess_permission_lowers_the_finding() -> None:
    """Starting a literal program is information when the manifest declares subprocess."""
    from wiseflow._contract._manifest import parse_manifest
    from wiseflow._policy._audit import _lowered

    m = parse_manifest(
        '[plugin]\nname="g"\nversion="1"\nkind="connector"\nentry="m:C"\n'
        "[plugin.permissions]\nsubprocess = true\n"
    )
    assert _lowered("subprocess", "low", m) == "info"
    assert _lowered("subprocess", "high", m) == "high"  # e.g. a shell: no permission covers it
    assert blocking([], "low") == []


def test_cli_audit_and_check_exit_3_with_rule_and_severity(tmp_path: Path) -> None:
    """`plugins audit --json` lists findings with rule/severity; refusal exits 3."""
    write(tmp_path, "sneaky", "import ctypes\n")
    env = dict(os.environ)
    res = subprocess.run(
        [sys.executable, "-m", "wiseflow", "plugins", "audit", "sneaky", "--json"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 3, res.stderr
    doc = json.loads(res.stdout)
    assert doc["plugin"] == "sneaky" and doc["ok"] is False
    finding = doc["problems"][0]
    assert (finding["code"], finding["rule"], finding["severity"]) == (
        "WF302", "native-code", "critical",
    )  # fmt: skip
    assert finding["line"] == 1 and finding["file"].endswith("plugin.py")
    res = subprocess.run(
        [sys.executable, "-m", "wiseflow", "plugins", "check", "sneaky"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert res.returncode == 3
    assert "WF302" in res.stderr


def test_computed_imports_are_high_and_literal_ones_judged_by_module() -> None:
    """import_module("sub" + "process") is high; import_module("socket") counts as socket."""
    assert ("dynamic-import", "high") in rules(
        'import importlib\nimportlib.import_module("sub" + "process")\n'
    )
    assert ("raw-network", "high") in rules('import importlib\nimportlib.import_module("socket")\n')
    assert ("dynamic-import", "high") in rules("__import__(name)\n")


def test_reading_resource_limits_is_not_a_finding() -> None:
    """resource.getrlimit is harmless; setrlimit is process control."""
    assert rules("import resource\nresource.getrlimit(resource.RLIMIT_AS)\n") == set()
    assert ("process-control", "medium") in rules(
        "import resource\nresource.setrlimit(resource.RLIMIT_AS, (1, 1))\n"
    )


def test_code_the_audit_cannot_read_is_a_finding(tmp_path: Path) -> None:
    """Bytecode without source, native extensions and non-regular .py files are refused."""
    import os

    from wiseflow._contract._manifest import load_manifest
    from wiseflow._policy._audit import audit_plugin

    folder = write(tmp_path, "opaque", "from .hidden import X\n")
    (folder / "hidden.pyc").write_bytes(b"\x00" * 16)
    (folder / "fast.so").write_bytes(b"\x7fELF")
    os.mkfifo(folder / "pipe.py")
    found = {(p.rule, p.severity) for p in audit_plugin(load_manifest(folder))}
    assert ("compiled-code", "high") in found
    assert ("native-code", "critical") in found
    assert ("unreadable", "high") in found  # a FIFO is refused, not read (no hang)
