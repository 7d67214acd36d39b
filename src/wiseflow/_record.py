"""The unit of data (:class:`Record`) and a connector's state marker (:class:`Checkpoint`)."""

# No `from __future__ import annotations` here: public Structs are re-homed to `wiseflow`,
# and msgspec resolves string annotations through the class's module.

from datetime import UTC, datetime
from typing import Any, final

import msgspec

__all__ = ["Checkpoint", "Record"]


@final
class Record(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One item flowing through a pipeline. Immutable; change it with :meth:`replace`.

    ``time`` must be timezone-aware; it is normalised to UTC.

    Example:
        >>> r = Record(id="1", source="feed", title="Hello")
        >>> r.replace(title="Hi").title
        'Hi'
    """

    id: str
    source: str
    kind: str = "item"
    time: datetime | None = None
    title: str = ""
    text: str = ""
    url: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    annotations: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        t = self.time
        if t is not None:
            if t.tzinfo is None or t.utcoffset() is None:
                raise ValueError(f"Record {self.id!r}: time must be timezone-aware (got {t!r})")
            if t.utcoffset():
                msgspec.structs.force_setattr(self, "time", t.astimezone(UTC))

    def replace(self, **changes: Any) -> "Record":
        """A copy with ``changes`` applied (the original is untouched)."""
        return msgspec.structs.replace(self, **changes)

    def annotate(self, key: str, value: Any) -> "Record":
        """A copy with ``annotations[key] = value``."""
        return msgspec.structs.replace(self, annotations={**self.annotations, key: value})


@final
class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """Yielded by a connector when everything yielded before it may be considered delivered.

    The host stores ``state`` only after every record before it is stored, and passes it
    back to ``fetch`` on the next run.
    """

    state: dict[str, Any] = msgspec.field(default_factory=dict)
