"""RayRunner on its own: the host's broker decides on the node's requests, and the node
checks the plugin's files against the approved hashes before the worker imports any."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wiseflow import PermissionDenied, Record, WiseflowError, load_manifest
from wiseflow._contract._integrity import hash_tree
from wiseflow._host._runner import RunnerSpec
from wiseflow._policy._broker import Broker
from wiseflow._policy._grants import Effective
from wiseflow._ray._runner import RayRunner
from wiseflow._sandbox._runner import WorkerRunner

CODE = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        out = []
        for r in batch:
            try:
                got = self.ctx.secret(r.title)
            except Exception as exc:
                got = f"{type(exc).__name__}:{getattr(exc, 'code', '')}"
            out.append(r.annotate("secret", got))
        return out
"""


def _plugin(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins" / "rp"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "rp"\nversion = "1.0"\nkind = "processor"\nentry = "plugin:P"\n'
        '[plugin.permissions]\nenv = ["GRANTED", "DENIED"]\n'
    )
    (folder / "plugin.py").write_text(CODE)
    return folder


def _runner(
    tmp_path: Path, folder: Path, files: dict[str, str] | None, local: bool = False
) -> RayRunner | WorkerRunner:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    broker = Broker(
        "rp", Effective(env=("GRANTED",)), data_dir=str(data),
        environ={"GRANTED": "host-secret", "DENIED": "never-leaves"},
    )  # fmt: skip
    spec = RunnerSpec(
        instance="rp", manifest=load_manifest(folder), code_root=str(folder),
        data_dir=str(data), level="sandboxed", root=str(folder), files=files,
    )  # fmt: skip
    return WorkerRunner(spec, broker) if local else RayRunner(spec, broker)


def test_requests_are_decided_by_the_host_broker(tmp_path: Path, ray_cluster: str) -> None:
    folder = _plugin(tmp_path)
    runner = _runner(tmp_path, folder, hash_tree(folder))
    try:
        runner.load()
        runner.initialize({})
        where = runner.node()
        assert where["pid"] != os.getpid()  # the worker's supervisor is the node's actor
        assert runner.confinement is not None
        batch = [Record(id=n, source="s", title=n) for n in ("GRANTED", "DENIED")]
        out = {r.id: r.annotations["secret"] for r in runner.call("process", [batch], None)}
        assert out["GRANTED"] == "host-secret"  # granted: the host's value, via its broker
        assert out["DENIED"] == f"{PermissionDenied.__name__}:WF301"  # the host said no
    finally:
        runner.close()


def test_node_refuses_code_that_differs_from_the_approved_hashes(
    tmp_path: Path, ray_cluster: str
) -> None:
    folder = _plugin(tmp_path)
    approved = hash_tree(folder)
    (folder / "plugin.py").write_text(CODE.splitlines()[0] + "\nraise SystemExit(7)\n")
    refused = []
    for local in (True, False):  # the same refusal locally and on the node
        runner = _runner(tmp_path, folder, approved, local=local)
        try:
            with pytest.raises(WiseflowError) as info:
                runner.load()
        finally:
            runner.close()
        refused.append((info.value.code, info.value.message))
    assert refused[0] == refused[1]
    code, message = refused[1]
    assert "[WF303]" in message and "plugin.py is not the file that was approved" in message


SOURCE = """\
from wiseflow import ConnectorPlugin, Record

class P(ConnectorPlugin):
    def fetch(self, state):
        for i in range(state["n"]):
            yield Record(id=f"r{i}", source=self.ctx.name, title="t")
"""


def test_a_stream_left_early_is_stopped_on_the_node(tmp_path: Path, ray_cluster: str) -> None:
    """The host stops reading a connector's stream: the node stops it, the next one works."""
    folder = tmp_path / "plugins" / "rs"
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(
        '[plugin]\nname = "rs"\nversion = "1.0"\nkind = "connector"\nentry = "plugin:P"\n'
    )
    (folder / "plugin.py").write_text(SOURCE)
    data = tmp_path / "data"
    data.mkdir()
    spec = RunnerSpec(
        instance="rs", manifest=load_manifest(folder), code_root=str(folder),
        data_dir=str(data), level="sandboxed",
    )  # fmt: skip
    runner = RayRunner(spec, Broker("rs", Effective(), data_dir=str(data)))
    try:
        runner.load()
        runner.initialize({})
        first = next(iter(runner.chunks("fetch", [{"n": 100_000}], None)))
        assert 0 < len(first) < 100_000  # left after one chunk: the generator is closed
        ids = [r.id for c in runner.chunks("fetch", [{"n": 300}], None) for r in c]
        assert ids == [f"r{i}" for i in range(300)]  # in order, each once
    finally:
        runner.close()
