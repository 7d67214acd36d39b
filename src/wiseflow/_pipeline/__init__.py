"""Pipelines: the pipeline file, the streaming engine, and the stage interface it uses.

Dependencies point one way: this package uses the contract (records, errors), the store
and the report; the plugin manager provides :class:`StageHandle` objects to it.
"""

from __future__ import annotations

from ._engine import Progress, run_pipeline
from ._local import LocalBackend, LocalStage, grants_for, local_stage, local_stages
from ._model import OutputSpec, Pipeline, StageSpec, load_pipeline, parse_pipeline
from ._protocol import StageHandle
from ._replay import replay_dead_letters
from ._summary import RunSummary, StageStats

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
