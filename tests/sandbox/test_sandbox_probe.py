"""``wiseflow doctor``'s layer probe, and the confinement building blocks it relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from wiseflow._sandbox import _probe
from wiseflow._sandbox._confine import LAYERS, Policy, plugin_uid, system_read_paths
from wiseflow._sandbox._probe import DISABLE_ENV, missing_layers, probe, refusal
from wiseflow._sandbox._seccomp import DENIED, build_filter, supported


def test_probe_has_the_documented_shape() -> None:
    """The document has exactly the keys SPEC §6 gives ``doctor --json``."""
    doc = probe()
    assert set(doc) == {"layers", "levels"}
    assert set(doc["layers"]) == {"seccomp", "landlock_abi", "netns", "userns", "rlimits"}
    assert isinstance(doc["layers"]["landlock_abi"], int)
    assert doc["levels"]["trusted"] == "ok"
    for level in ("sandboxed", "strict"):
        value = doc["levels"][level]
        assert value == "ok" or "allow_weaker_sandbox" in value
    json.dumps(doc)


def test_probe_is_cached() -> None:
    """A second probe costs nothing: the same document comes back."""
    assert probe() is probe()


def test_probe_never_alters_the_host() -> None:
    """Probing runs in a child: the host keeps no seccomp filter and no new namespace."""

    def state() -> tuple[str, list[str]]:
        with open("/proc/self/status") as f:
            lines = [ln for ln in f if ln.startswith(("Seccomp", "NoNewPrivs", "Cap"))]
        return os.readlink("/proc/self/ns/net"), lines

    before = state()
    probe(refresh=True)
    assert state() == before


def test_simulated_missing_layers_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """WISEFLOW_SANDBOX_DISABLE makes the probe report those layers missing, by name."""
    monkeypatch.setenv(DISABLE_ENV, "landlock,seccomp")
    doc = probe()
    assert doc["layers"]["landlock_abi"] == 0
    assert doc["layers"]["seccomp"] is False
    assert "landlock" in doc["levels"]["sandboxed"]
    assert "seccomp" in doc["levels"]["strict"]
    assert doc["levels"]["trusted"] == "ok"


def test_missing_layers_and_refusal_text() -> None:
    """Each required layer is checked; the refusal names them and the way out."""
    full = {"seccomp": True, "landlock_abi": 3, "netns": True, "userns": False, "rlimits": True}
    assert missing_layers(full) == []
    assert missing_layers({**full, "landlock_abi": 0, "netns": False}) == ["netns", "landlock"]
    assert "netns, landlock" in refusal(["netns", "landlock"])
    assert set(LAYERS) == {"rlimits", "netns", "landlock", "seccomp"}


def test_probe_child_reports_this_machine() -> None:
    """The probe's child process runs standalone and prints its findings as JSON."""
    out = subprocess.run(
        [sys.executable, "-I", "-m", "wiseflow._sandbox._probe"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    raw = json.loads(out.stdout)
    assert set(raw) == {"rlimits", "netns", "userns", "seccomp", "landlock_abi"}
    assert raw == _probe._measure()


@pytest.mark.skipif(not supported(), reason="seccomp filter is built for x86_64 only")
def test_seccomp_program_shape() -> None:
    """Arch check first, x32 killed, every denied call answered, ALLOW last."""
    prog = build_filter(allow_exec=False)
    assert prog[0] == (0x20, 0, 0, 4)  # load arch
    assert prog[2][3] == 0x80000000  # kill process on a foreign arch
    assert prog[-1] == (0x06, 0, 0, 0x7FFF0000)
    assert len(prog) < 255  # jumps stay within 8-bit offsets
    with_exec = build_filter(allow_exec=True)
    assert len(prog) - len(with_exec) == 4  # execve and execveat, two instructions each
    assert "socket" in DENIED
    assert "socketpair" not in DENIED


def test_policy_defaults_and_paths() -> None:
    """Interpreter paths are readable; the plugin uid is stable and unprivileged."""
    paths = system_read_paths()
    assert sys.base_prefix in paths
    assert "/usr" in paths
    assert "/" not in paths
    assert plugin_uid("github") == plugin_uid("github")
    assert plugin_uid("github") != plugin_uid("feed")
    assert plugin_uid("github") > 1 << 20
    assert Policy(host_pid=1).allow_exec is False
