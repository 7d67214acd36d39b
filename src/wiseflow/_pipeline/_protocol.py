"""The only interface the engine uses to talk to plugins: :class:`StageHandle`.

The engine never touches a plugin object. Anything with these members runs a stage: the
plugin manager's handles (policy, sandbox, metering behind them) or the in-process
:class:`~wiseflow._pipeline.LocalStage` used by tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from .._contract._errors import SkipRecord
from .._contract._plugin import Figure
from .._contract._record import Checkpoint, Record

__all__ = ["StageHandle"]


@runtime_checkable
class StageHandle(Protocol):
    """One running plugin instance, as the engine sees it.

    Only the members of the stage's kind are called: ``fetch_chunks`` for sources, ``process``
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

    def fetch_chunks(
        self, state: dict[str, Any] | None, size: int = 500
    ) -> Iterator[list[Record | Checkpoint | SkipRecord]]:
        """What the source yields, in order, as the chunks it arrives in (non-empty lists):
        records and checkpoints; a ``SkipRecord`` is one item dead-lettered. ``size``: the
        most items per chunk where the handle cuts them itself (in-process)."""
        ...

    def process(self, batch: list[Record]) -> list[Record]: ...

    def analyze(self, batch: list[Record]) -> None: ...

    def result(self) -> dict[str, Any]: ...

    def render(self, result: dict[str, Any]) -> list[Figure | str]: ...
