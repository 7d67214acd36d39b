"""Fixtures of the dashboard tests (helpers in dashboard_kit)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # wf_cli, as for tests/*.py
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_kit import LiveRun, release, write_project  # noqa: E402


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project folder (see dashboard_kit.write_project)."""
    return write_project(tmp_path)


@pytest.fixture
def live_run(project: Path) -> Iterator[Callable[..., LiveRun]]:
    """Start `wiseflow run` on the project (ended and reaped after the test)."""
    runs: list[LiveRun] = []

    def start(*args: str) -> LiveRun:
        run = LiveRun(project, *args)
        runs.append(run)
        return run

    yield start
    for run in runs:
        if run.proc.poll() is None:
            release(project, -1)
            try:
                run.proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
