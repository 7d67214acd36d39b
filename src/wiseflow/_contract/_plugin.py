"""The plugin contract: one base class per kind.

Subclass exactly one of :class:`ConnectorPlugin`, :class:`ProcessorPlugin` or
:class:`AnalyzerPlugin` and override its abstract methods (``fetch``; ``process``;
``analyze`` and ``result``). Methods may be plain or ``async``; the host awaits coroutines
and iterates async iterators. A nested ``Config`` (a ``msgspec.Struct`` or dataclass)
describes the plugin's configuration; the host validates it before ``initialize``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from ._errors import SkipRecord
from ._record import Checkpoint, Record

#: What a connector's ``fetch`` yields.
Item = Record | Checkpoint | SkipRecord

if TYPE_CHECKING:
    from ._context import PluginContext

__all__ = [
    "AnalyzerPlugin",
    "BasePlugin",
    "ConnectorPlugin",
    "Figure",
    "PluginKind",
    "ProcessorPlugin",
    "non_idempotent",
]

PluginKind = Literal["connector", "processor", "analyzer"]

_F = TypeVar("_F", bound=Callable[..., Any])


def non_idempotent(method: _F) -> _F:
    """Mark a plugin method that must never be retried (it has effects outside).

    Example:
        >>> class Poster(ProcessorPlugin):
        ...     @non_idempotent
        ...     def process(self, batch): ...
    """
    method.__wiseflow_non_idempotent__ = True  # type: ignore[attr-defined]
    return method


class Figure:
    """A figure for the report: an SVG document (or plain text) with a title.

    Reports show the SVG as an image (``<img src="data:image/svg+xml;...">``), never as
    part of the page: scripts, links out and CSS that fetches are removed, so draw with
    SVG elements and attributes only. A body that is not SVG is shown as text.

    Example:
        ``Figure("CVEs per month", svg_text)``
    """

    __slots__ = ("body", "title")

    def __init__(self, title: str, body: str) -> None:
        self.title = title
        self.body = body

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "body": self.body}


class BasePlugin(ABC):
    """Common base of the three kinds. Subclass a kind, not this class.

    Override ``initialize`` to acquire resources (call ``super().initialize(ctx)`` or keep
    ``ctx`` yourself), ``shutdown`` to release them (it must be idempotent), and optionally
    ``health``.
    """

    #: Optional config type (msgspec.Struct or dataclass); validated before ``initialize``.
    Config: ClassVar[type[Any] | None] = None
    #: Set by subclasses of each kind; the host reads it, authors do not set it.
    kind: ClassVar[PluginKind]

    ctx: PluginContext

    def initialize(self, ctx: PluginContext) -> Awaitable[None] | None:
        """Acquire resources. ``ctx.config`` is already validated."""
        self.ctx = ctx
        return None

    def shutdown(self) -> Awaitable[None] | None:
        """Release everything. Called once per initialize; must tolerate a second call."""
        return None

    def health(self) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """A small JSON-compatible status; ``{"ok": True}`` unless overridden."""
        return {"ok": True}


class ConnectorPlugin(BasePlugin):
    """Fetches items from a source. Override :meth:`fetch` (and optionally :meth:`check`)."""

    kind: ClassVar[PluginKind] = "connector"

    def check(self) -> Awaitable[None] | None:
        """Raise if the source is unreachable. Optional."""
        return None

    @abstractmethod
    def fetch(self, state: dict[str, Any] | None) -> Iterator[Item] | AsyncIterator[Item]:
        """Yield records, and ``Checkpoint(state=...)`` whenever all before it is delivered.

        An item that cannot become a record (no id, say) is refused by *yielding*
        ``SkipRecord(record_id, reason)``: it goes to the dead letters and the stream goes
        on. Raising ``SkipRecord`` instead ends the stream.

        Args:
            state: the last checkpoint's ``state`` from a previous run, or ``None``.
        """


class ProcessorPlugin(BasePlugin):
    """Transforms batches of records. Override :meth:`process`."""

    kind: ClassVar[PluginKind] = "processor"

    @abstractmethod
    def process(self, batch: list[Record]) -> list[Record] | Awaitable[list[Record]]:
        """Return the processed batch: records may be dropped, split, changed, annotated."""


class AnalyzerPlugin(BasePlugin):
    """Consumes records as a stream and produces a result.

    Override :meth:`analyze` (called once per batch) and :meth:`result` (after the last
    batch); optionally :meth:`render` to give the report figures.
    """

    kind: ClassVar[PluginKind] = "analyzer"

    @abstractmethod
    def analyze(self, batch: list[Record]) -> Awaitable[None] | None:
        """Take in one batch."""

    @abstractmethod
    def result(self) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """A JSON-compatible summary of everything analysed."""

    def render(self, result: dict[str, Any]) -> list[Figure | str] | Awaitable[list[Figure | str]]:
        """Figures (or plain-text notes, shown as text, never as HTML or Markdown). Optional."""
        return []


KINDS: dict[str, type[BasePlugin]] = {
    "connector": ConnectorPlugin,
    "processor": ProcessorPlugin,
    "analyzer": AnalyzerPlugin,
}
