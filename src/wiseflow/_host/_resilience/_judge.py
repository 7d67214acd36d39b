"""The host's verdict on a failed call: counted, redacted, logged, and judged.

:class:`Judge` is a collaborator owned by one :class:`~wiseflow._host._handle.PluginHandle`; the
handle consults it only when a call failed (the success path never touches it). Whatever
the exception claims, it becomes a failure of this plugin (``_verdict.plugin_failure``);
the breaker hears the failures that say something about the plugin's health
(``counts_against_breaker``), and fatal ones (:data:`FATAL_CODES`) trip the breaker and put
the plugin in ERROR.

The breaker should open for a plugin that is failing, not for a bad record. So:

- ``SkipRecord`` (WF408), ``InvalidTransition`` (WF405) and ``CircuitOpen`` (WF404) give
  no verdict on the plugin's health;
- a generic failure of a batch of several records gives no verdict either: the pipeline
  bisects that batch, and the single-record calls that follow decide (one bad record
  costs one failure, not the ~log2(batch) failures of its bisection path);
- everything else counts: transient errors after their retries, crashes, timeouts, quota
  deaths, protocol violations, failures of calls without records (``fetch``, ``result``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, final

import msgspec

from ..._contract._errors import (
    CircuitOpen,
    InvalidTransition,
    PluginError,
    QuotaExceeded,
    RuntimeFailure,
    SkipRecord,
    WiseflowError,
)
from ..._contract._record import Record
from ..._contract._verdict import plugin_failure
from .._lifecycle import Lifecycle, PluginState
from .._metering import CallStats, PluginMeter, quota_figure
from .._runner import Runner
from ._breaker import CircuitBreaker

if TYPE_CHECKING:
    from ..._policy._broker import Broker

__all__ = ["FATAL_CODES", "Judge", "counts_against_breaker", "unstorable", "wrong_return"]

log = logging.getLogger("wiseflow.handle")

#: Failures after which the instance cannot be trusted to continue (worker gone or stopped:
#: timeout, crash, quota, protocol violation). The one definition: the handle puts the
#: plugin in ERROR on them, the engine stops bisecting a batch on them.
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


@final
class Judge:
    """Turns a failed call of one plugin instance into the host's error, and acts on it.

    ``last_error`` is the last verdict (shown by ``plugins list`` and in WF405 messages).
    """

    __slots__ = ("breaker", "broker", "last_error", "lifecycle", "meter", "name", "runner", "stats")

    def __init__(
        self,
        *,
        name: str,
        runner: Runner,
        lifecycle: Lifecycle,
        stats: CallStats,
        meter: PluginMeter,
        breaker: CircuitBreaker | None,
        broker: Broker | None,
    ) -> None:
        self.name = name
        self.runner = runner
        self.lifecycle = lifecycle
        self.stats = stats
        self.meter = meter
        self.breaker = breaker
        self.broker = broker
        self.last_error: WiseflowError | None = None

    def failed(self, exc: BaseException, method: str, args: tuple[Any, ...] = ()) -> WiseflowError:
        """The error to raise for ``exc``, after counting, logging and judging it."""
        self.stats.errors += 1
        err = plugin_failure(exc, self.name, method)
        if self.broker is not None:
            self.broker.redactor.error(err)
        if isinstance(err, QuotaExceeded) and "reached" not in err.message:
            figure = quota_figure(err.message, self.runner.pid(), self.runner, self.meter)
            if figure:
                err.message = f"{err.message}; {figure}"
                err.args = (err.message,)
        self.stats.error_codes[err.code] = self.stats.error_codes.get(err.code, 0) + 1
        self.last_error = err
        self._log(err, method)
        fatal = err.code in FATAL_CODES
        breaker = self.breaker
        if breaker is not None:
            if fatal:
                breaker.trip(f"{err.code}: {err.message}")
            elif counts_against_breaker(err, args):
                breaker.failure(f"{err.code}: {err.message}")
            else:
                breaker.release()
        if fatal and self.lifecycle.can(PluginState.ERROR):
            self.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
        return err

    def _log(self, err: WiseflowError, method: str) -> None:
        """One JSON log record per failure (traceback included), at the plugin's log rate.

        INFO: ``wiseflow.log`` keeps it; the terminal shows it with ``--debug`` only (the
        run's summary lists the failures).
        """
        if self.broker is not None and not self.broker.limiter.allow():
            return
        fields = {"plugin": self.name, "method": method, "code": err.code}
        if err.traceback:
            fields["traceback"] = err.traceback
        log.info(
            "plugin %s: %s() failed: %s: %s",
            self.name,
            method,
            err.code,
            err.message,
            extra={"fields": fields},
        )


def wrong_return(plugin: str, method: str, out: Any) -> PluginError:
    """The error for ``process()`` not returning a list of Records, or ``result()`` not a dict
    (or one the run document cannot hold: see :func:`unstorable`)."""
    if method == "result":
        why = unstorable(out) if isinstance(out, dict) else None
        return PluginError(
            f"result() of plugin '{plugin}' returned a dict that cannot be stored: {why}"
            if why
            else f"result() of plugin '{plugin}' returned {type(out).__name__}, not a dict",
            plugin=plugin,
            hint="return a JSON-compatible dict from result()",
        )
    got = (
        type(out).__name__
        if not isinstance(out, list)
        else "a list holding "
        + ", ".join(sorted({type(r).__name__ for r in out if type(r) is not Record}))
    )
    return PluginError(
        f"{method}() of plugin '{plugin}' returned {got}, not a list of Record",
        plugin=plugin,
        hint="return the batch as list[Record] (drop records by leaving them out)",
    )


#: The most of an encoder's complaint (it quotes the plugin's type names) a message keeps.
UNSTORABLE_CHARS = 300


def unstorable(value: Any) -> str | None:
    """Why ``value`` (an analyzer's result) cannot go into the run document as JSON, or None.

    Checked at every level: a trusted plugin's objects reach the host as they are, and a
    worker's frames carry more than JSON (a Figure, a Record).
    """
    try:
        msgspec.json.encode(value)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        why = f"{type(exc).__name__}: {exc}"  # names the plugin's types: its text, bounded
        return why if len(why) <= UNSTORABLE_CHARS else why[:UNSTORABLE_CHARS] + "…"
    return None
