"""``wiseflow run`` with ``executor = "ray"`` in the pipeline file (SPEC §15)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from ray_kit import UPPER, project, rows


def wf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip


def _on(root: Path, address: str) -> None:
    text = (root / "p.toml").read_text()
    head = f'[pipeline]\nexecutor = "ray"\nray_address = "{address}"\n'
    (root / "p.toml").write_text(text.replace("[pipeline]\n", head, 1))


def test_cli_run_on_ray_prints_one_json_document(tmp_path: Path, ray_head: str) -> None:
    root = project(tmp_path / "p", UPPER, n=12)
    _on(root, ray_head)
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 0, res.stdout + res.stderr[-2000:]
    doc = json.loads(res.stdout)  # stdout is exactly one JSON document: nothing of Ray
    assert doc["records"]["stored"] == 12
    assert rows(root, "select count(*), count(distinct id) from records") == [(12, 12)]


def test_cli_unreachable_cluster_exits_2_before_anything_runs(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago, nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = project(tmp_path / "p", UPPER, n=3)
    _on(root, f"127.0.0.1:{port}")
    res = wf("run", "p.toml", "--json", cwd=root)
    assert res.returncode == 2, res.stdout + res.stderr[-2000:]
    err = json.loads(res.stdout)["error"]
    assert err["code"] == "WF501" and f"127.0.0.1:{port}" in err["message"]
    assert "unreachable" in err["message"] and "ray start" in err["hint"]
    assert "Traceback" not in res.stderr
    assert not (root / ".wiseflow" / "wiseflow.db").exists() or rows(
        root, "select count(*) from records"
    ) == [(0,)]


BY_INSTANCE = """\
from wiseflow import ProcessorPlugin

class P(ProcessorPlugin):
    def process(self, batch):
        return [r.replace(title=r.title.upper()).annotate("by", self.ctx.name) for r in batch]
"""


def test_cli_replicas_on_ray_store_each_record_once_like_local(
    tmp_path: Path, ray_head: str
) -> None:
    """``replicas = 2`` on Ray: two instances, each its own actor and worker on the node."""
    docs = []
    for where in ("local", "ray"):
        root = project(tmp_path / where, BY_INSTANCE, n=40)
        pipe = root / "p.toml"
        pipe.write_text(
            pipe.read_text().replace('plugin = "proc"\n', 'plugin = "proc"\nreplicas = 2\n')
        )
        if where == "ray":
            _on(root, ray_head)
        res = wf("run", "p.toml", "--json", cwd=root)
        assert res.returncode == 0, res.stdout + res.stderr[-2000:]
        docs.append(json.loads(res.stdout))
        assert rows(root, "select count(*), count(distinct id) from records") == [(40, 40)]
        assert rows(root, "select count(*) from records where title != upper(title)") == [(0,)]
    local, ray = docs
    assert ray["records"]["stored"] == local["records"]["stored"] == 40
    assert json.dumps(ray["analyzers"], sort_keys=True) == json.dumps(
        local["analyzers"], sort_keys=True
    )
    for where in ("local", "ray"):  # both replicas took batches, wherever they ran
        by = rows(
            tmp_path / where, "select distinct json_extract(annotations, '$.by') from records"
        )
        assert sorted(b for (b,) in by) == ["proc#1", "proc#2"]
