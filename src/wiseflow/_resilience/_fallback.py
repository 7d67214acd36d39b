"""Which failures say "this plugin is unwell", and when its fallback may stand in.

The breaker should open for a plugin that is failing, not for a bad record. So:

- ``SkipRecord`` (WF408), ``InvalidTransition`` (WF405) and ``CircuitOpen`` (WF404) give
  no verdict on the plugin's health;
- a generic failure of a batch of several records gives no verdict either: the pipeline
  bisects that batch, and the single-record calls that follow decide (one bad record
  costs one failure, not the ~log2(batch) failures of its bisection path);
- everything else counts: transient errors after their retries, crashes, timeouts, quota
  deaths, protocol violations, failures of calls without records (``fetch``, ``result``).

The fallback named in the manifest serves while the breaker is open or the plugin is in
ERROR; it must be of the same kind (a connector stands in for a connector).
"""

from __future__ import annotations

from typing import Any

from .._errors import CircuitOpen, InvalidTransition, RuntimeFailure, SkipRecord
from .._manifest import Manifest

__all__ = ["FATAL_CODES", "counts_against_breaker", "fallback_problem", "serves_fallback"]

#: Failures after which the instance cannot be trusted to continue (worker gone or stopped).
FATAL_CODES = frozenset({"WF401", "WF402", "WF403", "WF406"})


def counts_against_breaker(exc: BaseException, args: tuple[Any, ...]) -> bool:
    """Whether the failure ``exc`` of a call with ``args`` counts against the breaker."""
    if isinstance(exc, SkipRecord | InvalidTransition | CircuitOpen):
        return False
    if isinstance(exc, RuntimeFailure) or getattr(exc, "code", "") in FATAL_CODES:
        return True
    if getattr(exc, "code", "") == "WF407":  # TransientError, after its retries
        return True
    batch = args[0] if args else None
    return not (isinstance(batch, list) and len(batch) > 1)


def serves_fallback(state: str, breaker_open: bool) -> bool:
    """Whether calls should go to the fallback: the breaker is open or the plugin failed."""
    return breaker_open or state == "ERROR"


def fallback_problem(primary: Manifest, fallback: Manifest) -> str | None:
    """Why ``fallback`` cannot stand in for ``primary`` (None when it can)."""
    if fallback.kind != primary.kind:
        return (
            f"fallback '{fallback.name}' is a {fallback.kind}, but '{primary.name}' is a "
            f"{primary.kind}; a fallback must be of the same kind"
        )
    if fallback.fallback == primary.name:
        return f"'{primary.name}' and '{fallback.name}' name each other as fallback"
    return None
