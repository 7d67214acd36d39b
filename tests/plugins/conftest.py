"""Fixtures for the bundled plugins: generated changelogs, git repos, a replay server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from plugin_helpers import FIXTURES, commit, git, make_changelogs, replay_server

from wiseflow._pipeline import RunSummary, local_stage, parse_pipeline, run_pipeline
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


Runner = Callable[..., tuple[RunSummary, Store]]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Runner]:
    """Run a pipeline given as TOML text with installed plugins, in-process."""
    opened: list[Any] = []

    def go(text: str, *, full_refresh: bool = False, secrets: dict[str, str] | None = None,
           report: str | None = "") -> tuple[RunSummary, Store]:  # fmt: skip
        pipeline = parse_pipeline(text)
        data = tmp_path / "data"

        def build(specs: Any) -> list[Any]:
            return [
                local_stage(s.plugin, name=s.name, config=s.config, data_dir=data, secrets=secrets)
                for s in specs
            ]

        stages = build(pipeline.sources), build(pipeline.processors), build(pipeline.analyzers)
        opened.extend(s for group in stages for s in group)
        store = Store.open(data)
        opened.append(store)
        summary = run_pipeline(pipeline, store, *stages, full_refresh=full_refresh, report=report)
        return summary, store

    yield go
    for thing in opened:
        thing.close()
