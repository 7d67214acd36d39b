"""Error codes, hints, JSON shape and exit codes."""

from __future__ import annotations

import pickle

import pytest

import wiseflow as wf
from wiseflow._contract._errors import error_from_dict, exit_code_for

CODES = {
    wf.ManifestError: "WF101",
    wf.EntryNotFound: "WF102",
    wf.InterfaceError: "WF103",
    wf.DuplicatePlugin: "WF104",
    wf.ConfigError: "WF105",
    wf.MissingDependency: "WF201",
    wf.VersionConflict: "WF202",
    wf.DependencyCycle: "WF203",
    wf.ApiIncompatible: "WF204",
    wf.PythonIncompatible: "WF205",
    wf.PermissionDenied: "WF301",
    wf.AuditRefused: "WF302",
    wf.IntegrityError: "WF303",
    wf.SignatureInvalid: "WF304",
    wf.SandboxUnavailable: "WF305",
    wf.PluginTimeout: "WF401",
    wf.WorkerCrashed: "WF402",
    wf.QuotaExceeded: "WF403",
    wf.CircuitOpen: "WF404",
    wf.InvalidTransition: "WF405",
    wf.ProtocolViolation: "WF406",
    wf.PipelineError: "WF501",
    wf.StoreError: "WF502",
}


@pytest.mark.parametrize(("cls", "code"), CODES.items())
def test_each_error_class_carries_its_spec_code(cls: type[wf.WiseflowError], code: str) -> None:
    """Each class named in SPEC §7 has its code, and a plugin and hint slot."""
    err = cls("boom", plugin="p", hint="do x")
    assert (err.code, err.plugin, err.hint) == (code, "p", "do x")
    assert isinstance(err, wf.WiseflowError)
    assert err.to_dict() == {"code": code, "message": "boom", "plugin": "p", "hint": "do x"}


def test_errors_group_by_what_the_caller_should_do() -> None:
    """Retry and skip are plugin errors; permission denial is a security error."""
    assert issubclass(wf.TransientError, wf.PluginError)
    assert issubclass(wf.SkipRecord, wf.PluginError)
    assert issubclass(wf.PermissionDenied, wf.SecurityError)
    skip = wf.SkipRecord("r1", "bad date")
    assert (skip.record_id, skip.reason) == ("r1", "bad date")


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [("WF101", 2), ("WF203", 2), ("WF501", 2), ("WF301", 3), ("WF305", 3), ("WF402", 1),
     ("WF502", 4), ("WF000", 4), ("WF602", 2), ("WF603", 3)],
)  # fmt: skip
def test_exit_codes_follow_spec(code: str, exit_code: int) -> None:
    """Bad input exits 2, security 3, run failures 1, internal 4."""
    assert exit_code_for(code) == exit_code


def test_errors_cross_process_boundaries_as_data() -> None:
    """An error rebuilt from its dict keeps class, code, plugin, hint and extras."""
    err = error_from_dict(
        {"code": "WF407", "message": "slow down", "plugin": "gh", "hint": None, "retry_after": 3}
    )
    assert isinstance(err, wf.TransientError)
    assert err.retry_after == 3.0
    skip = error_from_dict({"code": "WF408", "record_id": "x", "reason": "r"})
    assert isinstance(skip, wf.SkipRecord) and skip.record_id == "x"
    denied = pickle.loads(pickle.dumps(wf.PermissionDenied("no", plugin="p")))
    assert denied.code == "WF301" and denied.plugin == "p"


def test_str_names_code_and_plugin() -> None:
    """``str(err)`` reads ``WF201: message (plugin)``."""
    assert str(wf.MissingDependency("needs text", plugin="gh")) == "WF201: needs text (gh)"


def test_skip_record_keeps_plugin_and_hint_across_the_wire() -> None:
    """A SkipRecord rebuilt from its dict still names its plugin and hint."""
    skip = error_from_dict(
        {"code": "WF408", "record_id": "r9", "reason": "bad", "plugin": "p", "hint": "fix"}
    )
    assert isinstance(skip, wf.SkipRecord)
    assert (skip.record_id, skip.reason, skip.plugin, skip.hint) == ("r9", "bad", "p", "fix")


def test_every_code_raised_in_the_source_is_documented() -> None:
    """Each WFnnn code that appears in src/ has its own `### WFnnn` entry in docs/errors.md."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    used = {
        code
        for path in (root / "src").rglob("*.py")
        for code in re.findall(r"\bWF\d{3}\b", path.read_text(encoding="utf-8"))
    }
    documented = set(
        re.findall(r"^### (WF\d{3})\b", (root / "docs" / "errors.md").read_text(), re.M)
    )
    assert used, "no codes found: the scan is broken"
    assert sorted(used - documented) == []


@pytest.mark.parametrize(("cls", "code"), CODES.items())
def test_each_error_is_rebuilt_as_its_own_class(cls: type[wf.WiseflowError], code: str) -> None:
    """An error sent between processes comes back as the class its code names."""
    err = error_from_dict({"code": code, "message": "m", "plugin": "p", "hint": "h"})
    assert type(err) is cls
    assert (err.code, err.message, err.plugin, err.hint) == (code, "m", "p", "h")


def test_a_plugin_error_code_is_rebuilt_as_a_plugin_error() -> None:
    """WF400 (shared by PluginError and RuntimeFailure) comes back as a PluginError."""
    assert type(error_from_dict({"code": "WF400", "message": "m"})) is wf.PluginError
    assert type(error_from_dict({"code": "WF999", "message": "m"})) is wf.WiseflowError


def test_plugin_traceback_leaves_out_the_hosts_frames() -> None:
    """The traceback kept for a plugin failure shows plugin code, not wiseflow's own frames."""
    from typing import Any

    from wiseflow._contract._errors import plugin_traceback
    from wiseflow.plugins._shared.ranking import ranked

    def plugin_code() -> None:
        wf.Record(id="", source="s", text="t")  # wiseflow refuses an empty id

    def bundled_plugin_code() -> None:
        nothing: Any = None
        ranked(nothing)  # fails inside wiseflow/plugins/: a plugin frame

    texts = []
    for call in (plugin_code, bundled_plugin_code):
        try:
            call()
        except Exception as exc:
            texts.append(plugin_traceback(exc) or "")
    host, bundled = texts
    assert "plugin_code" in host and "_record.py" not in host, host
    assert "bundled_plugin_code" in bundled and "ranking.py" in bundled, bundled
