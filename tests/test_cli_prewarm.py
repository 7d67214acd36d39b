"""`wiseflow run` starts the sandbox's zygote early only when a stage may be sandboxed."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from wiseflow._cli import _prewarm
from wiseflow._cli._prewarm import should_prewarm

PIPELINE = '[pipeline]\nname = "p"\n{extra}\n[[sources]]\nplugin = "hello"\nname = "h"\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.toml").write_text(PIPELINE.format(extra=""))
    (tmp_path / "ray.toml").write_text(PIPELINE.format(extra='executor = "ray"'))
    (tmp_path / "trusted.toml").write_text('[policy]\nlevel = "trusted"\n')
    (tmp_path / "mixed.toml").write_text(
        '[policy]\nlevel = "trusted"\n[plugins.hello]\nlevel = "sandboxed"\n'
    )
    (tmp_path / "broken.toml").write_text("[policy\n")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "p.toml"], True),  # the default level is sandboxed
        (["--json", "run", "--report", "r.html", "p.toml", "--data-dir", "d"], True),
        (["run", "p.toml", "--config", "mixed.toml"], True),  # one plugin sandboxed
        (["--config=trusted.toml", "run", "p.toml"], False),  # everything trusted
        (["run", "ray.toml"], False),  # workers start on the cluster
        (["run", "p.toml", "--config", "broken.toml"], False),  # the run reports it
        (["run", "missing.toml"], False),
        (["run", "p.toml", "--help"], False),
        (["plugins", "list"], False),
        ([], False),
    ],
)
def test_only_a_run_that_may_sandbox_prewarms(
    project: Path, args: list[str], expected: bool
) -> None:
    assert should_prewarm(args) is expected


def test_a_process_importing_the_cli_never_prewarms(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the `wiseflow` program warms up: the same arguments in a process that imports
    the CLI (this one: pytest) start nothing."""
    started: list[str] = []
    monkeypatch.setattr(sys, "argv", ["pytest", "run", "p.toml"])
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "-m", "pytest"])
    monkeypatch.setattr(threading, "Thread", lambda **kw: started.append("thread"))
    _prewarm.prewarm_for_program()
    assert started == []
    # the control: the same process seen as the console script does start the warm-up
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/wiseflow", "run", "p.toml"])

    class Thread:
        def __init__(self, **kw: object) -> None:
            started.append(str(kw["name"]))

        def start(self) -> None:
            started.append("started")

    monkeypatch.setattr(threading, "Thread", Thread)
    _prewarm.prewarm_for_program()
    assert started == ["wiseflow-zygote-warm", "started"]
