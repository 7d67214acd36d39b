"""What a run did: :class:`RunResult`, the value :func:`~wiseflow.run_pipeline` returns
(a read-only view of the run's summary; ``to_dict()`` is the ``run --json`` document)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from .._pipeline import RunSummary

__all__ = ["RunResult"]


@final
class RunResult:
    """What a run did. ``to_dict()`` is the ``wiseflow run --json`` document (SPEC §6).

    Attributes:
        plugins_in_error: instances left in ERROR when the run ended (a run with any is not
            :attr:`ok`, as ``wiseflow run`` exits 1 for them).

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_summary", "plugins_in_error")

    def __init__(self, summary: RunSummary, plugins_in_error: Sequence[str] = ()) -> None:
        self._summary = summary
        self.plugins_in_error = tuple(plugins_in_error)

    @property
    def run_id(self) -> int:
        """The run's number in the store (``wiseflow runs show RUN``)."""
        return self._summary.run_id

    @property
    def pipeline(self) -> str:
        return self._summary.pipeline

    @property
    def status(self) -> str:
        """``"ok"``, ``"partial"``, ``"failed"`` or ``"interrupted"`` (SPEC §12)."""
        return self._summary.status

    @property
    def fetched(self) -> int:
        return self._summary.fetched

    @property
    def stored(self) -> int:
        return self._summary.stored

    @property
    def duplicates(self) -> int:
        return self._summary.duplicates

    @property
    def updated(self) -> int:
        """Of the duplicates: stored before, changed since, updated in place."""
        return self._summary.updated

    @property
    def dead_letters(self) -> int:
        return self._summary.dead_letters

    @property
    def errors(self) -> list[dict[str, Any]]:
        """``{"code", "plugin", "message", "hint", "traceback"}`` per failure."""
        return self._summary.errors

    @property
    def analyzers(self) -> dict[str, Any]:
        """Each analyzer's result, by instance name."""
        return self._summary.analyzers

    @property
    def report(self) -> str | None:
        """Where the report was written, if anywhere."""
        return self._summary.report

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        """Per stage: plugin, kind, records in and out, errors, seconds, records/s."""
        return {name: st.stage_entry() for name, st in self._summary.stages.items()}

    @property
    def ok(self) -> bool:
        """Every record stored and no plugin in ERROR (``wiseflow run`` exits 0)."""
        return self.status == "ok" and not (self.dead_letters or self.plugins_in_error)

    def to_dict(self) -> dict[str, Any]:
        """The ``run --json`` document; its ``status``, ``records`` and ``errors`` are
        stored with the run too."""
        return self._summary.to_dict()

    def __repr__(self) -> str:
        return (
            f"RunResult(run_id={self.run_id}, status={self.status!r}, fetched={self.fetched}, "
            f"stored={self.stored}, dead_letters={self.dead_letters})"
        )
