"""Pipelines: the pipeline file, the streaming engine, and the stage interface it uses.

Dependencies point one way: this package uses the contract (records, errors), the store
and the report; the plugin manager provides :class:`StageHandle` objects to it.

The pipeline file's model loads with the package; the engine, replay and the in-process
stages load on first use (a command that only reads a pipeline file never imports them).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._model import OutputSpec, Pipeline, StageSpec, load_pipeline, parse_pipeline
from ._protocol import StageHandle
from ._summary import RunSummary, StageStats

if TYPE_CHECKING:
    from ._engine import Progress, run_pipeline
    from ._local import LocalBackend, LocalStage, grants_for, local_stage, local_stages
    from ._replay import replay_dead_letters

__all__ = [
    "LocalBackend",
    "LocalStage",
    "OutputSpec",
    "Pipeline",
    "Progress",
    "RunSummary",
    "StageHandle",
    "StageSpec",
    "StageStats",
    "grants_for",
    "load_pipeline",
    "local_stage",
    "local_stages",
    "parse_pipeline",
    "replay_dead_letters",
    "run_pipeline",
]

#: Names loaded on first use, by the module that holds them.
_LAZY = {
    "Progress": "._engine",
    "run_pipeline": "._engine",
    "LocalBackend": "._local",
    "LocalStage": "._local",
    "grants_for": "._local",
    "local_stage": "._local",
    "local_stages": "._local",
    "replay_dead_letters": "._replay",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
