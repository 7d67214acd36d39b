"""The only interface the engine uses to talk to plugins: :class:`StageHandle`.

The engine never touches a plugin object. Anything with these members runs a stage: the
plugin manager's handles (policy, sandbox, metering behind them) or the in-process
:class:`~wiseflow._pipeline.LocalStage` used by tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from .._errors import SkipRecord
from .._plugin import Figure
from .._record import Checkpoint, Record

__all__ = ["StageHandle"]


@runtime_checkable
class StageHandle(Protocol):
    """One running plugin instance, as the engine sees it.

    Only the members of the stage's kind are called: ``fetch`` for sources, ``process``
    for processors, ``analyze``/``result``/``render`` for analyzers. A handle may also
    expose ``state`` (a lifecycle state name) which the summary reports.
    """

    @property
    def name(self) -> str:
        """The instance name (pipeline ``name``; the plugin name by default)."""
        ...

    @property
    def plugin(self) -> str:
        """The plugin's name."""
        ...

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint | SkipRecord]:
        """Records and checkpoints; a yielded ``SkipRecord`` is one item dead-lettered."""
        ...

    def process(self, batch: list[Record]) -> list[Record]: ...

    def analyze(self, batch: list[Record]) -> None: ...

    def result(self) -> dict[str, Any]: ...

    def render(self, result: dict[str, Any]) -> list[Figure | str]: ...
