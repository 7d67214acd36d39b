"""A testing kit for plugin authors, also registered as a pytest plugin (``wiseflow``).

Run a plugin through the real host (lifecycle, config validation, dispatch) without
scanning entry points::

    from wiseflow.testing import run_plugin

    def test_my_processor():
        out = run_plugin(MyProcessor, records=[Record(id="1", source="t", text="x")])
        assert out.records[0].annotations["mine"]

Fixtures: ``wiseflow_manager`` — a factory ``(*plugin_classes, **options) -> PluginManager``
whose managers use a temporary data dir and are closed after the test.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._record import Checkpoint, Record

if TYPE_CHECKING:  # the manager is imported on first use: this module loads in every pytest
    from ._assembly import PluginSpec
    from ._manager import PluginManager
    from ._operator import OperatorConfig

__all__ = ["PluginRun", "make_manager", "run_plugin", "wiseflow_manager"]


def make_manager(
    *plugins: PluginSpec,
    data_dir: str | Path | None = None,
    config: OperatorConfig | None = None,
    plugin_dirs: Sequence[str | Path] = (),
    level: str | None = None,
) -> PluginManager:
    """A manager over exactly ``plugins`` (and ``plugin_dirs``); no entry point scan."""
    from ._manager import PluginManager

    return PluginManager(
        config,
        plugins=plugins,
        plugin_dirs=plugin_dirs,
        entry_points=False,
        data_dir=data_dir or tempfile.mkdtemp(prefix="wiseflow-test-"),
        level=level,
        cache=False,
    )


class PluginRun:
    """What :func:`run_plugin` saw: final state, records out, checkpoints, result."""

    def __init__(self) -> None:
        self.state = ""
        self.records: list[Record] = []
        self.checkpoints: list[Checkpoint] = []
        self.result: dict[str, Any] | None = None
        self.health: dict[str, Any] = {}


def run_plugin(
    plugin: PluginSpec,
    config: dict[str, Any] | None = None,
    *,
    records: Sequence[Record] = (),
    state: dict[str, Any] | None = None,
    batch_size: int = 100,
) -> PluginRun:
    """Start ``plugin`` in a fresh manager and exercise its kind's methods once.

    Connectors are fetched to the end (from ``state``); processors process ``records`` in
    batches; analyzers analyze them and return ``result()``.
    """
    out = PluginRun()
    with make_manager(plugin) as pm:
        name = pm.discover().candidates[0].manifest.name
        handle = pm.start(name, config)
        out.state = handle.state.value
        out.health = handle.health()
        if handle.kind == "connector":
            for item in handle.fetch(state):
                if isinstance(item, Checkpoint):
                    out.checkpoints.append(item)
                else:
                    out.records.append(item)
        else:
            batch = list(records)
            for i in range(0, len(batch), batch_size):
                chunk = batch[i : i + batch_size]
                if handle.kind == "processor":
                    out.records.extend(handle.process(chunk))
                else:
                    handle.analyze(chunk)
            if handle.kind == "analyzer":
                out.result = handle.result()
    return out


@pytest.fixture
def wiseflow_manager(tmp_path: Path) -> Iterator[Any]:
    """Factory fixture: ``wiseflow_manager(*plugins, **options)`` → a closed-after manager."""
    made: list[PluginManager] = []

    def factory(*plugins: PluginSpec, **options: Any) -> PluginManager:
        options.setdefault("data_dir", tmp_path / f"wf{len(made)}")
        pm = make_manager(*plugins, **options)
        made.append(pm)
        return pm

    yield factory
    for pm in made:
        pm.close()
