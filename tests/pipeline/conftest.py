"""Helpers for pipeline tests: plugin objects adapted to stage handles in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wiseflow import BasePlugin
from wiseflow._host._handle import PluginHandle
from wiseflow._pipeline import LocalBackend, LocalStage
from wiseflow._store import Store

StageFactory = Callable[..., PluginHandle]


def _stage(
    obj: BasePlugin,
    tmp_path: Path,
    name: str,
    config: dict[str, Any] | None = None,
    roots: Iterable[str | Path] = (),
) -> PluginHandle:
    """``obj`` as a stage handle with a backend granting ``roots`` for reading."""
    backend = LocalBackend(name, read_roots=roots)
    return LocalStage(
        obj, name=name, plugin=name, config=config or {}, data_dir=tmp_path / name, backend=backend
    )


@pytest.fixture
def stage() -> Iterator[StageFactory]:
    """Adapt a plugin object to a stage handle: ``stage(obj, tmp_path, name, config, roots)``."""
    made: list[PluginHandle] = []

    def factory(*args: Any, **kw: Any) -> PluginHandle:
        made.append(_stage(*args, **kw))
        return made[-1]

    yield factory
    for s in made:
        s.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh store in ``tmp_path``, closed after the test."""
    s = Store.open(tmp_path / "data")
    yield s
    s.close()
