"""The typed calls of a plugin handle, one per method of the plugin kinds (SPEC §3).

Each goes through the handle's dispatch point (:meth:`PluginHandle.invoke` or its streams)
and checks what the plugin returned where the host relies on its type: a processor's
records, an analyzer's result document. Records in and out are counted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._contract._errors import SkipRecord
from .._contract._plugin import Figure
from .._contract._record import Checkpoint, Record
from ._lifecycle import PluginState
from ._resilience import unstorable, wrong_return

if TYPE_CHECKING:
    from ._metering import CallStats
    from ._resilience import Recovery

__all__ = ["TypedCalls"]


class TypedCalls:
    """The typed calls of :class:`~wiseflow._host._handle.PluginHandle`, its base class.

    Subclassed only by the handle, which provides the dispatch point and what these read.
    """

    __slots__ = ()

    if TYPE_CHECKING:  # provided by the handle
        name: str
        stats: CallStats
        recovery: Recovery

        @property
        def state(self) -> PluginState: ...

        def invoke(self, method: str, *args: Any) -> Any: ...

        def stream(self, method: str, *args: Any) -> Iterator[Any]: ...

        def stream_chunks(
            self, method: str, *args: Any, size: int | None = None
        ) -> Iterator[list[Any]]: ...

    def fetch_chunks(
        self, state: dict[str, Any] | None, size: int | None = None
    ) -> Iterator[list[Record | Checkpoint | SkipRecord]]:
        """What the connector yields, as chunks: records, checkpoints and refused items."""
        return self.stream_chunks("fetch", state, size=size)

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint | SkipRecord]:
        """What the connector yields, item by item (see :meth:`fetch_chunks`)."""
        return self.stream("fetch", state)

    def check(self) -> None:
        self.invoke("check")

    def process(self, batch: list[Record]) -> list[Record]:
        self.stats.records_in += len(batch)
        out = self.invoke("process", batch)
        if not isinstance(out, list) or not all(type(r) is Record for r in out):
            raise wrong_return(self.name, "process", out)
        self.stats.records_out += len(out)
        return out

    def analyze(self, batch: list[Record]) -> None:
        self.stats.records_in += len(batch)
        self.invoke("analyze", batch)

    def result(self) -> dict[str, Any]:
        out = self.invoke("result")
        if not isinstance(out, dict) or unstorable(out):
            raise wrong_return(self.name, "result", out)
        return out

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        out: list[Figure | str] = self.invoke("render", result)
        return out

    def health(self) -> dict[str, Any]:
        """The plugin's health; while DISABLED (released), its last answer before that."""
        if self.recovery.released and self.state is PluginState.DISABLED:
            return dict(self.recovery.last_health)
        out: dict[str, Any] = self.invoke("health")
        return out
