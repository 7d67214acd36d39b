"""Runtime behaviour monitoring: what a sandboxed plugin attempts, as the worker's audit hook
reports it (issue 15). The hook is monitoring, not a boundary: each attempt below is also
checked to have failed in the kernel, from the plugin's own view (the errno it got).

The attacker opens /etc/shadow, connects to a TCP server the test runs on 127.0.0.1, runs
/bin/true, loads a native library and executes compiled code; the run document must list
each kind with counts and samples, flagged beyond its manifest, with the kernel's refusals.
Controls: a plugin granted that server's host:port reaches it (through ``ctx.http``) and its
own attempt is not flagged; the same attacker run trusted succeeds where the kernel refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from cli_kit import SOURCE, document, project, raw_controls, wf

from wiseflow._sandbox._behaviour import SAMPLES, Behaviour
from wiseflow._sandbox._messages import Telemetry

ATTACKER = """\
import ctypes, errno, socket, subprocess
import msgspec
from wiseflow import ProcessorPlugin

class Config(msgspec.Struct):
    port: int = 9

def _try(fn):
    try:
        fn()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

class P(ProcessorPlugin):
    Config = Config

    def process(self, batch):
        port = self.ctx.config.port
        seen = {
            "file": _try(lambda: open("/etc/shadow").read()),
            "network": _try(lambda: socket.create_connection(("127.0.0.1", port), timeout=5)),
            "process": _try(lambda: subprocess.run(["/bin/true"], check=True)),
            "native": _try(lambda: ctypes.CDLL("libc.so.6")),
            "code": _try(lambda: exec(compile("y = 6 * 7", "<payload>", "exec"), {})),
        }
        for r in batch:
            r.annotations["seen"] = seen
        return batch
"""


NO_AUDIT = 'audit_block = "none"\n'


def _pipeline(port: int) -> str:
    return (
        f'[pipeline]\nname = "t"\n[[sources]]\nplugin = "innocent"\n'
        f'[[processors]]\nplugin = "attacker"\nconfig = {{ port = {port} }}\n'
    )


def _attacker(tmp_path: Path, port: int, level: str = "sandboxed") -> Path:
    """The attacker's project; the static audit, which would refuse this plugin outright, is
    waved through: here the run-time monitor is under test."""
    plugins = {"innocent": ("connector", SOURCE), "attacker": ("processor", ATTACKER)}
    return project(tmp_path, plugins, _pipeline(port), level=level, toml_extra=NO_AUDIT)


def _seen(root: Path) -> dict[str, str]:
    """What the attacker itself saw (the errno of each attempt), from a stored record."""
    import sqlite3

    db = sqlite3.connect(root / ".wiseflow" / "wiseflow.db")
    try:
        rows = [r[0] for r in db.execute("select annotations from records")]
    finally:
        db.close()
    return dict(json.loads(rows[0])["seen"])


def test_hostile_attempts_are_reported_flagged_and_refused(
    tmp_path: Path, tcp_server: tuple[int, list[bytes]]
) -> None:
    port, connections = tcp_server
    root = _attacker(tmp_path, port)
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    doc = document(res)
    assert doc["status"] == "ok"  # the host survived and stored the records
    # the kernel refused each of them (the plugin's own view), and the server saw nothing
    seen = _seen(root)
    assert seen["file"] == "EACCES"
    assert seen["network"] == "EPERM"
    assert seen["process"] == "EPERM"
    assert seen["native"] == seen["code"] == "ok"  # not a boundary: reported only
    assert connections == []
    beh = doc["plugins"]["attacker"]["behaviour"]
    kinds = beh["kinds"]
    assert set(kinds) >= {"file", "network", "process", "native", "code"}
    for kind in ("file", "network", "process", "native", "code"):
        row = kinds[kind]
        assert row["attempts"] >= 1 and row["samples"], kind
        assert row["beyond_manifest"] == row["attempts"], kind  # it declares nothing
    samples = {k: [s["what"] for s in v["samples"]] for k, v in kinds.items()}
    assert "open /etc/shadow (read)" in samples["file"]
    assert f"getaddrinfo 127.0.0.1:{port}" in samples["network"]
    assert any("/bin/true" in s for s in samples["process"])
    assert "dlopen libc.so.6" in samples["native"]
    assert any("<payload>" in s for s in samples["code"])
    # the kernel's refusal, as the hook could tell it
    shadow = next(s for s in kinds["file"]["samples"] if s["target"] == "/etc/shadow")
    assert shadow["outcome"] == "refused"
    assert kinds["network"]["refused"] >= 1 and kinds["process"]["refused"] == 1
    assert "declares no network, attempted 2 network operation(s)" in beh["flags"]
    assert "declares no subprocess, attempted 1 process execution(s)" in beh["flags"]
    # nothing of the plugin's own folder, data dir or the runtime's files is reported
    assert all("/plugins/attacker/" not in s for s in samples.get("file", []))
    assert "innocent" not in doc["plugins"] or "behaviour" not in doc["plugins"]["innocent"]
    shown = wf("runs", "show", str(doc["run_id"]), cwd=root)
    assert shown.returncode == 0
    assert b"flagged: declares no network, attempted 2 network operation(s)" in shown.stdout


def test_trusted_control_the_kernel_is_the_boundary(
    tmp_path: Path, tcp_server: tuple[int, list[bytes]]
) -> None:
    """Control: the same plugin run trusted (no confinement, no hook) succeeds where the
    sandbox refused it, and no behaviour is reported (the host's own events would mix in)."""
    port, connections = tcp_server
    root = _attacker(tmp_path, port, level="trusted")
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    seen = _seen(root)
    assert seen["network"] == "ok" and seen["process"] == "ok"
    assert seen["file"] in ("ok", "EACCES")  # root reads /etc/shadow; a user may not
    assert len(connections) == 1  # it reached the server
    assert "behaviour" not in document(res)["plugins"]["attacker"]


GRANTED = """\
import socket
import msgspec
from wiseflow import ProcessorPlugin

class Config(msgspec.Struct):
    port: int = 9

class P(ProcessorPlugin):
    Config = Config

    def process(self, batch):
        port = self.ctx.config.port
        try:
            self.ctx.http.get(f"http://127.0.0.1:{port}/granted")
        except Exception:
            pass  # the recorder answers nothing: reaching it is what counts
        try:  # a raw socket to the same granted host: not flagged (the kernel refuses it)
            socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            pass
        return batch
"""


def test_granted_network_is_not_flagged(
    tmp_path: Path, tcp_server: tuple[int, list[bytes]]
) -> None:
    port, connections = tcp_server
    root = project(
        tmp_path,
        {"innocent": ("connector", SOURCE), "attacker": ("processor", GRANTED)},
        _pipeline(port),
        toml_extra=NO_AUDIT + "[plugins.attacker]\ngrant = { all = true }\n",
        manifest_extra={"attacker": f'[plugin.permissions]\nnetwork = ["127.0.0.1:{port}"]\n'},
    )
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    assert any(b"GET /granted" in c for c in connections)  # it reached the server
    beh = document(res)["plugins"]["attacker"]["behaviour"]
    net = beh["kinds"]["network"]
    assert net["attempts"] >= 1
    assert net["beyond_manifest"] == 0
    assert not [f for f in beh["flags"] if "network" in f]


FLOOD = """\
import sys
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        # forged events are events too: a million, each to its own target
        for i in range(1_000_000):
            sys.audit("socket.connect", None, ("10.0.0.1", i))
        return batch
"""


def test_a_million_events_are_summarised_within_bounds(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"innocent": ("connector", SOURCE), "attacker": ("processor", FLOOD)},
        '[pipeline]\nname = "t"\n[[sources]]\nplugin = "innocent"\n'
        '[[processors]]\nplugin = "attacker"\n',
        toml_extra=NO_AUDIT,
    )
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    doc = document(res)
    beh = doc["plugins"]["attacker"]["behaviour"]
    net = beh["kinds"]["network"]
    assert net["attempts"] == 1_000_000  # counted, not sent one by one
    assert len(net["samples"]) == SAMPLES
    # frames: one ahead of each reply at most, plus the timer's (one per 2 s at most)
    calls = doc["plugins"]["attacker"]["calls"] + 2  # load and shutdown reply too
    assert beh["frames"] <= calls + doc["seconds"] / 2 + 2
    assert len(json.dumps(beh)) < 4096  # the host keeps a bounded summary


def test_forged_frames_are_bounded_on_decode_and_merge() -> None:
    """A worker's frames are hostile: over-long ones do not decode (WF406 on the wire), and
    merged ones keep the summary bounded whatever counts and targets they claim."""
    dec = msgspec.msgpack.Decoder(Telemetry)
    too_many = {"network": {f"h{i}:1": 1 for i in range(41)}}
    with pytest.raises(msgspec.ValidationError):
        dec.decode(msgspec.msgpack.encode(Telemetry(counts={"network": 1}, targets=too_many)))
    long_text = {"file": [["x" * 301, "", "refused"]]}
    with pytest.raises(msgspec.ValidationError):
        dec.decode(msgspec.msgpack.encode(Telemetry(counts={"file": 1}, samples=long_text)))
    beh = Behaviour(None)
    for i in range(200):
        targets = {"network": {f"10.0.{i}.{j}:80": 1 << 60 for j in range(40)}}
        samples = {"network": [["x", "", "verdict: safe"]] * 8, "bogus": [["y", "", ""]]}
        beh.add(Telemetry(counts={"network": 1 << 60, "bogus": 5}, targets=targets,
                          samples=samples))  # fmt: skip
    out = beh.to_dict()
    assert out is not None
    net = out["kinds"]["network"]
    assert net["attempts"] == 1 << 53  # capped
    assert len(net["samples"]) == SAMPLES
    assert {s["outcome"] for s in net["samples"]} == {"attempted"}  # not the plugin's word
    assert set(out["kinds"]) == {"network"}
    assert sum(len(t) for t in beh.targets.values()) <= 32


HOSTILE_TEXT = "\x1b]0;pwned\x07\x1b[2J<script>alert(1)</script>"

NAMES = f"""\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        try:
            open({("/etc/" + HOSTILE_TEXT)!r}).read()
        except OSError:
            pass
        return batch
"""


def test_hostile_sample_strings_are_text_in_runs_show_and_the_report(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"innocent": ("connector", SOURCE), "attacker": ("processor", NAMES)},
        '[pipeline]\nname = "t"\n[output]\nreport = "report.html"\n[[sources]]\n'
        'plugin = "innocent"\n[[processors]]\nplugin = "attacker"\n',
        toml_extra=NO_AUDIT,
    )
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 0, res.stderr
    doc = document(res)
    (sample,) = doc["plugins"]["attacker"]["behaviour"]["kinds"]["file"]["samples"]
    assert HOSTILE_TEXT in sample["what"]  # data: kept as the plugin gave it, in JSON
    shown = wf("runs", "show", str(doc["run_id"]), cwd=root)
    assert shown.returncode == 0
    assert b"pwned" in shown.stdout and b"<script>alert(1)</script>" in shown.stdout
    assert raw_controls(shown.stdout) == []  # no byte a terminal would act on
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert sample["outcome"] in ("refused", "failed")  # the kernel's EACCES or ENOENT
