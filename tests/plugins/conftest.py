"""Fixtures for the bundled plugins: generated changelogs, git repos, a replay server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from plugin_helpers import FIXTURES, commit, git, make_changelogs, replay_server

import wiseflow
from wiseflow import RunResult
from wiseflow._pipeline import parse_pipeline
from wiseflow._policy._grants import Grant
from wiseflow._policy._operator import OperatorConfig, PluginPolicy, Policy
from wiseflow._store import Store


@pytest.fixture
def changelogs(tmp_path: Path) -> tuple[Path, int]:
    """A generated changelog tree and how many well-formed entries it holds."""
    root = tmp_path / "doc"
    return root, make_changelogs.write_changelogs(root, packages=6, entries=20)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository with five commits on main."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    for i in range(5):
        commit(
            r,
            f"f{i}.txt",
            f"v{i}\n",
            f"Change {i}\n\nFixes #{i + 10}",
            f"2024-0{i + 1}-15T12:00:00+02:00",
        )
    return r


@pytest.fixture
def replay() -> Iterator[Any]:
    """The GitHub replay server over every copied recording."""
    files = [p.name for p in (FIXTURES / "github-replay").glob("*.txt")]
    with replay_server.ReplayServer(files) as srv:
        yield srv


Runner = Callable[..., tuple[RunResult, Store]]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runner]:
    """Run a pipeline given as TOML text with installed plugins, trusted (in-process), with
    ``wiseflow.run_pipeline``: each plugin granted what its manifest declares; ``secrets``
    are set in the environment the plugins read."""
    opened: list[Store] = []

    def go(text: str, *, full_refresh: bool = False, secrets: dict[str, str] | None = None,
           report: str | None = "") -> tuple[RunResult, Store]:  # fmt: skip
        for name, value in (secrets or {}).items():
            monkeypatch.setenv(name, value)
        pipeline = parse_pipeline(text)
        granted = PluginPolicy(grant=Grant(all=True))
        config = OperatorConfig(
            policy=Policy(level="trusted"), plugins={st.plugin: granted for st in pipeline.stages}
        )
        data = tmp_path / "data"
        result = wiseflow.run_pipeline(
            pipeline, config=config, data_dir=data, full_refresh=full_refresh,
            report=report,
        )  # fmt: skip
        opened.append(Store.open(data))
        return result, opened[-1]

    yield go
    for store in opened:
        store.close()
