"""The host's words for how a worker failed: its reported errors, violations, timeouts.

A worker's report is the plugin's own failure (marked so) unless the host made it: the
broker's errors passed on unchanged, a MemoryError (the quota, WF403, in the host's words)
and a program start that seccomp refused (WF301 naming the subprocess permission). A
worker breaking the protocol is WF406; one missing its deadline WF401. Deaths are
classified by ``_process.death_error``.
"""

from __future__ import annotations

from typing import Any

from .._contract._errors import (
    PluginTimeout,
    ProtocolViolation,
    QuotaExceeded,
    WiseflowError,
    WorkerCrashed,
    error_from_dict,
)
from .._contract._verdict import exec_refused, issued_or_plugin
from .._host._runner import RunnerSpec

__all__ = ["not_running", "reported", "timed_out", "violated"]

_MEMORY_HINT = "raise resources.memory_mb for this plugin, or process smaller batches"


def reported(
    data: dict[str, Any],
    spec: RunnerSpec,
    *,
    memory_mb: int,
    allow_exec: bool,
    issued: Any,
) -> WiseflowError:
    """An error the worker of ``spec`` reported, as the host reports it."""
    name = spec.instance
    err = error_from_dict(data)
    if err.code == "WF403" and err.message == _memory_message(memory_mb):
        return QuotaExceeded(err.message, plugin=name, hint=_MEMORY_HINT)
    if not allow_exec:  # seccomp refused a program start: say which permission
        refused = exec_refused(
            err,
            name,
            plugin=spec.manifest.name,
            declared=spec.manifest.permissions.subprocess,
            level=spec.level,
        )
        if refused is not None:
            return refused
    return issued_or_plugin(err, issued)


def violated(name: str, what: str) -> ProtocolViolation:
    """WF406: the worker of ``name`` sent ``what`` (it was stopped)."""
    return ProtocolViolation(
        f"the worker of plugin '{name}' sent {what}; the worker was stopped",
        plugin=name,
        hint="the plugin wrote to the host channel or broke the protocol; report it "
        "to the plugin's author",
    )


def not_running(name: str, failure: WiseflowError) -> WorkerCrashed:
    """WF402 for a call to a worker that stopped with ``failure`` (until it is loaded again)."""
    return WorkerCrashed(
        f"the worker of plugin '{name}' is not running "
        f"(it stopped with {failure.code}: {failure.message})",
        plugin=name,
        hint="the host restarts it on the next load",
    )


def timed_out(name: str, what: str, unread: int, seconds: float | None = None) -> PluginTimeout:
    """WF401: ``what`` did not finish in time (``seconds``, the limit that applied, when
    known; ``unread`` bytes of replies left unread). The hint names the three settings whose
    tightest is the limit (SPEC §11), so raising the manifest's alone is not suggested."""
    why = f" ({unread} bytes of the host's replies left unread)" if unread else ""
    within = f"within {seconds:g} s" if seconds is not None else "in time"
    if what in ("start", "load"):  # the worker's own start, not a call of the plugin's
        return PluginTimeout(
            f"the worker of plugin '{name}' did not {what} {within}{why}; it was killed",
            plugin=name,
            hint="starting covers confinement and importing the plugin's code: a module "
            "that does slow work when imported, or a heavily loaded machine",
        )
    return PluginTimeout(
        f"plugin '{name}' did not finish {what}() {within}{why}; its worker was killed",
        plugin=name,
        hint="the limit is the tightest of the manifest's timeout_s, [plugins.NAME] "
        "resources.timeout_s and [policy] max_timeout_s (default 600): raise the one that "
        "binds, or make the call do less",
    )


def _memory_message(memory_mb: int) -> str:
    """What the worker says for a MemoryError (``_protocol.error_dict``)."""
    return f"plugin exceeded its memory quota ({memory_mb} MB)"
