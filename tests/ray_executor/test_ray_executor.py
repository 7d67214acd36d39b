"""``executor = "ray"``: sandboxed instances' workers on a Ray node, the host the driver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ray_kit import UPPER, project, rows, run

import wiseflow
from wiseflow._contract._errors import PipelineError
from wiseflow._ray import _executor
from wiseflow._ray._cluster import connect


def test_pipeline_on_ray_stores_each_record_once_like_local(
    tmp_path: Path,
    ray_cluster: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Every record stored exactly once, the same records and analyzer results as local."""
    on_ray: list[str] = []
    build = _executor._ray_runner

    def spy(spec, broker, **options):  # type: ignore[no-untyped-def]
        on_ray.append(spec.instance)
        return build(spec, broker, **options)

    monkeypatch.setattr(_executor, "_ray_runner", spy)
    local = project(tmp_path / "local", UPPER)
    remote = project(tmp_path / "ray", UPPER)
    a = run(local, None)
    b = run(remote, ray_cluster)
    assert capfd.readouterr().out == ""  # nothing of Ray on stdout (`--json` stays one doc)
    assert sorted(on_ray) == ["proc", "src", "wordcount"]  # every sandboxed instance
    assert (a.status, a.stored, a.dead_letters) == ("ok", 30, 0)
    assert (b.status, b.stored, b.dead_letters) == ("ok", 30, 0)
    sql = "select source, id, title, annotations from records order by id"
    assert rows(remote, sql) == rows(local, sql)
    assert rows(remote, "select count(*), count(distinct id) from records") == [(30, 30)]
    assert json.dumps(b.analyzers, sort_keys=True) == json.dumps(a.analyzers, sort_keys=True)
    assert b.analyzers  # wordcount counted something
    again = run(remote, ray_cluster)  # a re-run resumes from the checkpoint: no duplicates
    assert again.stored == 0
    assert rows(remote, "select count(*) from records") == [(30,)]


def test_unreachable_cluster_is_a_clear_error_before_anything_runs(tmp_path: Path) -> None:
    """Nothing listens there: WF501 naming the address, at once (no Ray retries)."""
    import socket

    with socket.socket() as s:  # a port that was free a moment ago, nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = project(tmp_path / "p", UPPER)
    with pytest.raises(PipelineError) as info:
        run(root, f"127.0.0.1:{port}")
    err = info.value
    assert err.code == "WF501" and f"127.0.0.1:{port}" in err.message
    assert "unreachable" in err.message and "ray start" in (err.hint or "")
    assert not (root / ".wiseflow" / "wiseflow.db").exists()  # no run began
    with pytest.raises(PipelineError, match="not HOST:PORT"):
        connect("nowhere")
    assert isinstance(err, wiseflow.WiseflowError)
