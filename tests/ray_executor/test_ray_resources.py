"""``[plugin.resources] ray_num_cpus`` (SPEC §15): validated, shown, and asked of Ray."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ray_kit import UPPER, actor_row, project, rows, run, set_resources

from wiseflow import ManifestError
from wiseflow._contract._ceilings import range_problem
from wiseflow._contract._manifest import parse_manifest
from wiseflow._ray import _executor


def wf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip


HEAD = '[plugin]\nname = "p"\nversion = "1.0"\nkind = "processor"\nentry = "m:P"\n'


@pytest.mark.parametrize(("text", "cpus"), [("", 0.0), ("0", 0.0), ("1", 1.0), ("0.5", 0.5)])
def test_manifest_accepts_ray_num_cpus(text: str, cpus: float) -> None:
    """Absent is 0 (no CPU asked of Ray); 0, fractions and whole numbers are accepted."""
    body = f"[plugin.resources]\nray_num_cpus = {text}\n" if text else ""
    m = parse_manifest(HEAD + body)
    assert m.resources.ray_num_cpus == cpus
    assert m.to_dict()["resources"]["ray_num_cpus"] == cpus


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("-1", "must be at least 0, got -1"),
        ("-0.5", "must be at least 0, got -0.5"),
        ("2000", "must be at most 1024 (got 2000)"),
        ("nan", "must be a finite number"),
        ("inf", "must be a finite number"),
        ("true", "must be a number, got True"),
        ('"2"', "must be a number, got '2'"),
    ],
)
def test_bad_ray_num_cpus_is_wf101_naming_field_and_line(text: str, why: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(HEAD + f"[plugin.resources]\nray_num_cpus = {text}\n", path="x/plugin.toml")
    (prob,) = info.value.problems
    assert (prob.code, prob.line, prob.file) == ("WF101", 7, "x/plugin.toml")
    assert prob.message.startswith("plugin.resources.ray_num_cpus: " + why), prob.message
    assert info.value.code == "WF101"


def test_zero_stays_a_mistake_for_the_other_resources() -> None:
    """Allowing 0 CPUs on Ray does not allow a zero timeout or CPU budget."""
    assert range_problem("timeout_s", 0) == "must be positive, got 0"
    assert range_problem("cpu_seconds", 0.0) == "must be positive, got 0.0"
    assert range_problem("ray_num_cpus", 0) is None
    assert range_problem("ray_num_cpus", math.inf) is not None


def test_plugins_info_shows_ray_num_cpus(tmp_path: Path) -> None:
    root = project(tmp_path / "p", UPPER, n=3)
    set_resources(root, "proc", "ray_num_cpus = 1.5")
    res = wf("plugins", "info", "proc", "--json", cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["manifest"]["resources"]["ray_num_cpus"] == 1.5
    text = wf("plugins", "info", "proc", cwd=root)
    assert text.returncode == 0, text.stderr[-2000:]
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith("resources asked:"))
    assert json.loads(line.removeprefix("resources asked:"))["ray_num_cpus"] == 1.5


def test_local_run_ignores_ray_num_cpus(tmp_path: Path) -> None:
    """Locally there is no Ray to ask: a plugin asking more CPUs than exist still runs."""
    root = project(tmp_path / "p", UPPER, n=10, analyzers="")
    set_resources(root, "proc", "ray_num_cpus = 512")
    res = run(root, None)
    assert (res.status, res.stored) == ("ok", 10)


def test_actor_asks_ray_for_the_declared_cpus(
    tmp_path: Path, ray_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray's own actor table (GCS) holds CPU 1 for it, and no CPU for an undeclared one."""
    seen: dict[str, dict[str, float]] = {}
    build = _executor._ray_runner

    def spy(spec, broker, **options):  # type: ignore[no-untyped-def]
        runner = build(spec, broker, **options)
        load = runner.load

        def load_and_look() -> None:  # read Ray's record of the actor while it is alive
            load()
            seen[spec.instance] = actor_row(runner._actor)["required_resources"]

        runner.load = load_and_look
        return runner

    monkeypatch.setattr(_executor, "_ray_runner", spy)
    root = project(tmp_path / "p", UPPER, n=10, analyzers="")
    set_resources(root, "proc", "ray_num_cpus = 1")
    res = run(root, ray_cluster)
    assert (res.status, res.stored) == ("ok", 10)
    assert rows(root, "select count(*), count(distinct id) from records") == [(10, 10)]
    assert seen["proc"].get("CPU") == 1.0, seen
    assert "CPU" not in seen["src"], seen  # declared nothing: no CPU asked
