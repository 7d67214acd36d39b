"""The executor is the pipeline's own: a local pipeline running at the same time stays local."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from ray_kit import UPPER, project, rows

import wiseflow
from wiseflow._contract._errors import PipelineError
from wiseflow._ray import _executor, ray_executor
from wiseflow._ray._cluster import using

#: Seconds any side waits for the other (generous: the machine is shared).
DEADLINE = 120.0


def _on_ray(root: Path, address: str) -> Path:
    text = (root / "p.toml").read_text()
    head = f'[pipeline]\nexecutor = "ray"\nray_address = "{address}"\n'
    (root / "p.toml").write_text(text.replace("[pipeline]\n", head, 1))
    return root


def _run(root: Path) -> wiseflow.RunResult:
    config, data = root / "wiseflow.toml", root / ".wiseflow"
    return wiseflow.run_pipeline(root / "p.toml", config=config, data_dir=data)


def _side_by_side(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    address: str,
    around_a: Callable[[], AbstractContextManager[Any]],
    a_on_ray: bool,
) -> tuple[list[str], wiseflow.RunResult, wiseflow.RunResult]:
    """Pipeline A runs in a thread and stops while its processor is being built; pipeline B
    (local) runs from start to end meanwhile, then A goes on. The data dirs of the instances
    built for Ray, and both results."""
    a_root = project(tmp_path / "a", UPPER, n=20, analyzers="")
    if a_on_ray:
        _on_ray(a_root, address)
    b_root = project(tmp_path / "b", UPPER, n=20, analyzers="")
    on_ray: list[str] = []
    a_building, b_done = threading.Event(), threading.Event()
    build = _executor._ray_runner

    def spy(spec, broker, **options):  # type: ignore[no-untyped-def]
        on_ray.append(spec.data_dir)
        if spec.data_dir.startswith(str(a_root)) and spec.instance == "proc":
            a_building.set()
            assert b_done.wait(DEADLINE), "pipeline B did not finish"
        return build(spec, broker, **options)

    monkeypatch.setattr(_executor, "_ray_runner", spy)
    out: dict[str, Any] = {}

    def pipeline_a() -> None:
        try:
            with around_a():
                out["a"] = _run(a_root)
        except BaseException as exc:  # reported by the test below
            out["a_error"] = exc
            a_building.set()

    thread = threading.Thread(target=pipeline_a)
    thread.start()
    try:
        assert a_building.wait(DEADLINE), "pipeline A never built its processor"
        b = _run(b_root)  # while A is assembling its instances
    finally:
        b_done.set()
        thread.join(DEADLINE)
    assert "a_error" not in out, out.get("a_error")
    for root in (a_root, b_root):
        assert rows(root, "select count(*), count(distinct id) from records") == [(20, 20)]
    return on_ray, out["a"], b


def test_a_local_pipeline_stays_local_while_another_runs_on_ray(
    tmp_path: Path, ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_ray, a, b = _side_by_side(tmp_path, monkeypatch, ray_cluster, nullcontext, a_on_ray=True)
    assert (a.status, a.stored, b.status, b.stored) == ("ok", 20, "ok", 20)
    assert sorted(Path(d).name for d in on_ray) == ["proc", "src"]  # A's, on Ray
    assert all(d.startswith(str(tmp_path / "a")) for d in on_ray)  # none of B's


def test_positive_control_a_process_wide_executor_takes_the_local_pipeline_too(
    tmp_path: Path, ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ray_executor()`` without a manager is process-wide: B's instances go to Ray too
    (what every pipeline of a process got before the choice was per pipeline)."""
    on_ray, a, b = _side_by_side(
        tmp_path, monkeypatch, ray_cluster, lambda: ray_executor(ray_cluster), a_on_ray=False
    )
    assert (a.stored, b.stored) == (20, 20)
    assert any(d.startswith(str(tmp_path / "b")) for d in on_ray), on_ray


def test_a_second_cluster_is_refused_while_a_pipeline_uses_the_first(ray_cluster: str) -> None:
    """Ray connects a process to one cluster: another address while a pipeline runs would
    cut the running one off; it is WF501 instead, and the first connection stays."""
    import ray

    with using(ray_cluster):
        with pytest.raises(PipelineError) as info:
            with using("127.0.0.1:1"):
                pass
        assert info.value.code == "WF501" and ray_cluster in info.value.message
        assert ray.is_initialized()
